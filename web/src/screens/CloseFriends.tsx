// Settings > Close friends: the people who see the stories you share with close friends. Add by username, remove
// per person; a removed friend stops seeing those stories at once (the API decides when they look).
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { Empty, ErrorNote, Loading } from "../components/Common";
import { PersonRow } from "../components/People";
import { useTitle } from "../title";
import type { Page, Profile, UserRef } from "../types";

export function CloseFriends() {
  useTitle("Close friends");
  const [friends, setFriends] = useState<UserRef[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState("");
  const load = (after: string | null = null) => {
    setError(null);
    api<Page<UserRef>>("GET", paged("/me/close_friends", after, 50)).then(
      (page) => {
        setFriends((known) => [...(after && known ? known : []), ...page.items]);
        setCursor(page.next_cursor ?? null);
      },
      (failure: unknown) => setError(failure instanceof ApiError ? failure : null),
    );
  };
  useEffect(() => load(), []);

  const add = async (event: Event) => {
    event.preventDefault();
    const username = name.trim().replace(/^@/, "").toLowerCase();
    if (!username) return;
    setBusy(true);
    setError(null);
    setNotice("");
    try {
      const person = await api<Profile>("GET", `/users/${encodeURIComponent(username)}`);
      await api("PUT", `/me/close_friends/${person.user_id}`);
      setName("");
      setNotice(`Added ${person.username} to your close friends.`);
      load();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) {
        setError(new ApiError(404, "user_not_found", `Nobody is called ${username}.`));
      } else if (failure instanceof ApiError) setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (friend: UserRef) => {
    setError(null);
    setNotice("");
    try {
      await api("DELETE", `/me/close_friends/${friend.user_id}`);
      setFriends((known) => (known ?? []).filter((f) => f.user_id !== friend.user_id));
      setNotice(`Removed ${friend.username} from your close friends.`);
    } catch (failure) {
      if (failure instanceof ApiError) setError(failure);
    }
  };

  return (
    <div class="column close-friends">
      <p class="breadcrumb">
        <a href="/app/settings">Settings</a>
      </p>
      <h1 class="page-title">Close friends</h1>
      <p class="muted help">
        Stories you share with close friends show a green ring, and only the people here see them. They aren't told
        when you add or remove them.
      </p>
      <form class="add-friend" onSubmit={add}>
        <label class="field">
          <span>Add by username</span>
          <input
            name="username"
            value={name}
            maxLength={31}
            autocomplete="off"
            autocapitalize="none"
            spellcheck={false}
            disabled={busy}
            onInput={(event) => setName((event.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="button primary" disabled={busy || !name.trim()}>
          Add
        </button>
      </form>
      <ErrorNote error={error} />
      <p class="notice" role="status">
        {notice}
      </p>
      {friends === null ? (
        error ? null : (
          <Loading label="Loading your close friends" />
        )
      ) : friends.length ? (
        <ul class="people" aria-label="Your close friends">
          {friends.map((friend) => (
            <PersonRow key={friend.user_id} user={friend}>
              <button
                type="button"
                class="button secondary small"
                aria-label={`Remove ${friend.username} from close friends`}
                onClick={() => remove(friend)}
              >
                Remove
              </button>
            </PersonRow>
          ))}
        </ul>
      ) : (
        <Empty title="No close friends yet">
          <p>Add people by their username; only they will see your close-friends stories.</p>
        </Empty>
      )}
      {cursor ? (
        <button type="button" class="button secondary wide" onClick={() => load(cursor)}>
          Show more
        </button>
      ) : null}
    </div>
  );
}
