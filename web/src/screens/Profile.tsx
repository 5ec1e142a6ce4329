// A profile (/app/u/{username}): header with counts and bio, follow (or, for a private account, request to follow),
// block and mute, highlights, the grid of posts (a private account's only for its approved followers);
// on your own profile, a Saved tab (/app/u/{username}?tab=saved) with the posts you saved, which only you can see.
import { useLocation, useRoute } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { Avatar, Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { Dialog } from "../components/Dialog";
import { ReportDialog } from "../components/Report";
import { Grid } from "../components/Grid";
import { imageUrl } from "../components/Photo";
import { dropKept, usePaged } from "../lists";
import { postPages, unique } from "../posts_page";
import { session } from "../session";
import { playStories } from "../state";
import { useStore } from "../store";
import { useTitle } from "../title";
import type { Page, Profile as ProfileData, Story } from "../types";

/** A profile by username, loaded again whenever `version` changes. */
export function useProfile(username: string, version = 0) {
  const [profile, setProfile] = useState<ProfileData | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const request = useRef(0);
  const load = () => {
    // Only the latest request's answer counts: an older one arriving late is dropped.
    const mine = ++request.current;
    setError(null);
    api<ProfileData>("GET", `/users/${encodeURIComponent(username)}`).then(
      (found) => mine === request.current && setProfile(found),
      (failure: unknown) => mine === request.current && setError(failure instanceof ApiError ? failure : null),
    );
  };
  useEffect(() => {
    setProfile(null);
    load();
  }, [username, version]);
  return { profile, setProfile, error, load };
}

function Highlights({ profile }: { profile: ProfileData }) {
  const [stories, setStories] = useState<Story[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    api<Page<Story>>("GET", paged(`/users/${profile.user_id}/highlights`, null, 20)).then(
      (page) => live && setStories(page.items),
      (failure: unknown) => live && setError(failure instanceof ApiError ? failure : null),
    );
    return () => {
      live = false;
    };
  }, [profile.user_id, attempt]);
  if (error) return <ErrorNote error={error} onRetry={() => setAttempt((n) => n + 1)} />;
  if (!stories.length) return null;
  const owner = { user_id: profile.user_id, username: profile.username };
  return (
    <section class="highlights" aria-label="Highlights">
      <ul>
        {stories.map((story) => (
          <li key={story.story_id}>
            <button
              type="button"
              class="highlight"
              aria-label={`Highlight from ${new Date(story.created_at).toLocaleDateString("en", { dateStyle: "medium" })}`}
              onClick={() => playStories([owner], 0, { highlights: true, startStory: story.story_id })}
            >
              <img src={imageUrl(story.images, "1080")} alt="" width={64} height={64} loading="lazy" />
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Posts({ profile }: { profile: ProfileData }) {
  const list = usePaged(`profile:${profile.user_id}`, postPages(`/users/${profile.user_id}/posts`, 30), true);
  const ids = unique(list.items);
  return (
    <>
      <Grid ids={ids} label={`Posts by ${profile.username}`} />
      {list.done && !ids.length ? <Empty title="No posts yet" /> : null}
      {list.loading ? <Loading label="Loading posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </>
  );
}

/** "More options" for someone else's profile: a disclosure holding Mute or Unmute, closed by Escape or a click
 * elsewhere (focus goes back to the button that opened it). */
function MoreOptions({
  profile,
  busy,
  onMute,
}: {
  profile: ProfileData;
  busy: boolean;
  onMute: (on: boolean) => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const [reporting, setReporting] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) trigger.current?.focus();
  };
  useEffect(() => {
    if (!open) return undefined;
    panel.current?.querySelector<HTMLButtonElement>("button")?.focus();
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && close(true);
    const onPointer = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!panel.current?.contains(target) && !trigger.current?.contains(target)) close(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);
  const muting = profile.relationship.muting;
  return (
    <div class="more-options">
      <button
        type="button"
        ref={trigger}
        class="button secondary small"
        aria-label={`More options for ${profile.username}`}
        aria-expanded={open}
        aria-controls="profile-options"
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">&#8943;</span>
      </button>
      {open ? (
        <div id="profile-options" class="options-panel" ref={panel}>
          <button
            type="button"
            class="option"
            disabled={busy}
            aria-describedby="mute-hint"
            onClick={() => onMute(!muting).then(() => close(true))}
          >
            {muting ? `Unmute ${profile.username}` : `Mute ${profile.username}`}
          </button>
          <p id="mute-hint" class="muted small">
            {muting
              ? "Their posts and stories come back to your feed and stories tray."
              : "Their posts and stories leave your feed and stories tray. They won't be told."}
          </p>
          <button
            type="button"
            class="option"
            onClick={() => {
              setOpen(false);
              setReporting(true);
            }}
          >
            {`Report ${profile.username}`}
          </button>
        </div>
      ) : null}
      {reporting ? (
        <ReportDialog
          target={{ user_id: profile.user_id }}
          what={profile.username}
          onClose={() => {
            setReporting(false);
            trigger.current?.focus();
          }}
        />
      ) : null}
    </div>
  );
}

function Saved() {
  // Not kept between visits: a save or unsave made anywhere shows the next time the tab opens.
  const list = usePaged("saved", postPages("/me/saved", 30));
  const ids = unique(list.items);
  return (
    <>
      <p class="muted small saved-note">Only you can see what you've saved.</p>
      <Grid ids={ids} label="Your saved posts" />
      {list.done && !ids.length ? (
        <Empty title="Nothing saved yet">
          <p>Save posts you want to see again: they show here, most recently saved first.</p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading saved posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </>
  );
}

function Tabs({ username, saved }: { username: string; saved: boolean }) {
  const base = `/app/u/${username}`;
  return (
    <nav class="profile-tabs" aria-label="Profile sections">
      <a href={base} aria-current={saved ? undefined : "page"}>
        Posts
      </a>
      <a href={`${base}?tab=saved`} aria-current={saved ? "page" : undefined}>
        Saved
      </a>
    </nav>
  );
}

export function Profile() {
  const { params } = useRoute();
  const { query } = useLocation();
  const me = useStore(session);
  const [version, setVersion] = useState(0);
  const { profile, setProfile, error, load } = useProfile(params.username, version);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmBlock, setConfirmBlock] = useState(false);
  useTitle(params.username);

  if (error) {
    return (
      <div class="column">
        {error.status === 404 ? (
          <Empty title="This account isn't available" main>
            <p>The link may be broken, or the account may be gone.</p>
          </Empty>
        ) : (
          <ErrorNote error={error} onRetry={load} />
        )}
      </div>
    );
  }
  if (!profile) return <Loading label="Loading the profile" />;

  const own = me?.userId === profile.user_id;
  const showSaved = own && query.tab === "saved";
  const { following, followed_by: followedBy, blocking, muting } = profile.relationship;
  const requested = !!profile.relationship.requested;
  // A private account's posts, stories and lists are for its approved followers only.
  const locked = !!profile.private && !own && !following;
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setActionError(null);
    try {
      await work();
      // What the home feed and the stories tray hold depends on whom one follows.
      dropKept("feed:");
    } catch (failure) {
      setActionError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };
  const follow = (on: boolean) =>
    act(async () => {
      const answer = await api<{ following: boolean; requested?: boolean }>(
        on ? "PUT" : "DELETE",
        `/users/${profile.user_id}/follow`,
      );
      const change = answer.following === following ? 0 : answer.following ? 1 : -1;
      setProfile({
        ...profile,
        follower_count: profile.follower_count + change,
        relationship: { ...profile.relationship, following: answer.following, requested: !!answer.requested },
      });
    });
  const block = (on: boolean) =>
    act(async () => {
      await api(on ? "PUT" : "DELETE", `/users/${profile.user_id}/block`);
      setConfirmBlock(false);
      setVersion((v) => v + 1);
    });
  const mute = (on: boolean) =>
    act(async () => {
      const answer = await api<{ muting: boolean }>(on ? "PUT" : "DELETE", `/users/${profile.user_id}/mute`);
      setProfile({ ...profile, relationship: { ...profile.relationship, muting: answer.muting } });
    });

  return (
    <div class="wide-column">
      <header class="profile-head">
        <Avatar username={profile.username} size={96} />
        <div class="profile-info">
          <div class="profile-title">
            <h1>{profile.username}</h1>
            {own ? (
              <>
                <a class="button secondary small" href="/app/settings">
                  Edit profile
                </a>
                {profile.private ? (
                  <a class="button secondary small" href="/app/requests">
                    Follow requests
                  </a>
                ) : null}
              </>
            ) : blocking ? (
              <button type="button" class="button secondary small" disabled={busy} onClick={() => block(false)}>
                Unblock
              </button>
            ) : (
              <>
                {following ? (
                  <button type="button" class="button secondary small" disabled={busy} onClick={() => follow(false)}>
                    Unfollow
                  </button>
                ) : requested ? (
                  <button
                    type="button"
                    class="button secondary small"
                    disabled={busy}
                    aria-label="Requested: withdraw your follow request"
                    onClick={() => follow(false)}
                  >
                    Requested
                  </button>
                ) : profile.private ? (
                  <button type="button" class="button primary small" disabled={busy} onClick={() => follow(true)}>
                    Request to follow
                  </button>
                ) : (
                  <button type="button" class="button primary small" disabled={busy} onClick={() => follow(true)}>
                    {followedBy ? "Follow back" : "Follow"}
                  </button>
                )}
                <button type="button" class="button secondary small" disabled={busy} onClick={() => setConfirmBlock(true)}>
                  Block
                </button>
                <MoreOptions profile={profile} busy={busy} onMute={mute} />
              </>
            )}
          </div>
          <ul class="counts">
            <li>
              <strong>{profile.post_count.toLocaleString("en")}</strong> {profile.post_count === 1 ? "post" : "posts"}
            </li>
            <li>
              {locked ? (
                <span>
                  <strong>{profile.follower_count.toLocaleString("en")}</strong>{" "}
                  {profile.follower_count === 1 ? "follower" : "followers"}
                </span>
              ) : (
                <a href={`/app/u/${profile.username}/followers`}>
                  <strong>{profile.follower_count.toLocaleString("en")}</strong>{" "}
                  {profile.follower_count === 1 ? "follower" : "followers"}
                </a>
              )}
            </li>
            <li>
              {locked ? (
                <span>
                  <strong>{profile.following_count.toLocaleString("en")}</strong> following
                </span>
              ) : (
                <a href={`/app/u/${profile.username}/following`}>
                  <strong>{profile.following_count.toLocaleString("en")}</strong> following
                </a>
              )}
            </li>
          </ul>
          {profile.display_name ? <p class="strong">{profile.display_name}</p> : null}
          {profile.bio ? <p class="bio">{profile.bio}</p> : null}
          {followedBy && !own ? <p class="muted small">Follows you</p> : null}
          <div role="status">
            {requested && !following && !blocking ? (
              <p class="muted small">Requested: you'll see their posts once {profile.username} approves.</p>
            ) : null}
            {muting && !own && !blocking ? (
              <p class="muted small">
                Muted: {profile.username}'s posts and stories don't show in your feed or stories tray.
              </p>
            ) : null}
          </div>
          <ErrorNote error={actionError} />
        </div>
      </header>
      {blocking ? (
        <Empty title={`You blocked ${profile.username}`}>
          <p>They can't see your posts or stories, and you won't see theirs. Unblock them to change that.</p>
        </Empty>
      ) : locked ? (
        <Empty title="This account is private">
          <p>
            {requested
              ? `You asked to follow ${profile.username}. Once they approve, you'll see their posts and stories.`
              : `Follow ${profile.username} to see their posts, stories and highlights.`}
          </p>
        </Empty>
      ) : (
        <>
          <Highlights profile={profile} />
          {own ? <Tabs username={profile.username} saved={showSaved} /> : null}
          {showSaved ? <Saved /> : <Posts profile={profile} />}
        </>
      )}
      {confirmBlock ? (
        <Dialog title={`Block ${profile.username}?`} onClose={() => setConfirmBlock(false)}>
          <p>
            They won't be able to find your profile, posts or stories, and you'll stop following each other. They
            won't be told.
          </p>
          <ErrorNote error={actionError} />
          <div class="actions">
            <button type="button" class="button secondary" onClick={() => setConfirmBlock(false)}>
              Cancel
            </button>
            <button type="button" class="button danger" disabled={busy} onClick={() => block(true)}>
              Block
            </button>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}
