// Follow requests (/app/requests): who asks to follow your private account, each with Approve and Decline.
import { useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { PersonRow } from "../components/People";
import { dropKept, usePaged } from "../lists";
import { useTitle } from "../title";
import type { Page, UserRef } from "../types";

type Decision = "approve" | "decline";

function Request({ user, onDecided }: { user: UserRef; onDecided: (decision: Decision) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const decide = async (decision: Decision) => {
    setBusy(true);
    setError(null);
    try {
      await api(
        "POST",
        decision === "approve"
          ? `/me/follow_requests/${user.user_id}/approve`
          : `/me/follow_requests/${user.user_id}/decline`,
      );
      onDecided(decision);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
      setBusy(false);
    }
  };
  return (
    <PersonRow user={user}>
      <div class="request-actions">
        <button
          type="button"
          class="button primary small"
          disabled={busy}
          aria-label={`Approve ${user.username}`}
          onClick={() => decide("approve")}
        >
          Approve
        </button>
        <button
          type="button"
          class="button secondary small"
          disabled={busy}
          aria-label={`Decline ${user.username}`}
          onClick={() => decide("decline")}
        >
          Decline
        </button>
      </div>
      <ErrorNote error={error} />
    </PersonRow>
  );
}

export function FollowRequests() {
  useTitle("Follow requests");
  const list = usePaged<UserRef>("follow_requests", (cursor) =>
    api<Page<UserRef>>("GET", paged("/me/follow_requests", cursor, 30)),
  );
  const [decided, setDecided] = useState<Record<string, Decision>>({});
  const pending = list.items.filter((user) => !decided[user.user_id]);
  const done = Object.entries(decided);
  return (
    <div class="column">
      <h1 class="page-title">Follow requests</h1>
      <p class="muted small requests-note">
        Your account is private: only people you approve see your posts, stories and lists.
      </p>
      {pending.length ? (
        <ul class="people" aria-label="Pending follow requests">
          {pending.map((user) => (
            <Request
              key={user.user_id}
              user={user}
              onDecided={(decision) => {
                setDecided((now) => ({ ...now, [user.user_id]: decision }));
                // Approving someone changes what your followers list and counts hold.
                dropKept(`profile:`);
              }}
            />
          ))}
        </ul>
      ) : list.done ? (
        <Empty title="No follow requests">
          <p>When someone asks to follow your private account, they show here.</p>
        </Empty>
      ) : null}
      <div role="status">
        {done.length ? (
          <p class="notice requests-done">
            {done
              .map(([id, decision]) => {
                const name = list.items.find((user) => user.user_id === id)?.username ?? "someone";
                return decision === "approve" ? `${name} now follows you.` : `Declined ${name}.`;
              })
              .join(" ")}
          </p>
        ) : null}
      </div>
      {list.loading ? <Loading label="Loading follow requests" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
