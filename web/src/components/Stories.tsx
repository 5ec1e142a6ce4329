// Stories: the tray of avatars at the top of the feed, and the full-screen viewer that plays them.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { agoLong, count } from "../format";
import { session } from "../session";
import { openUpload, type Playing, playing, playStories, storiesChanged, trayVersion } from "../state";
import { useStore } from "../store";
import type { Page, Story, StoryViewers, TrayEntry, UserRef } from "../types";
import { Avatar, ErrorNote, Loading, MoreSentinel, TimeAgo } from "./Common";
import { Dialog } from "./Dialog";
import { Icon } from "./Icon";
import { imageUrl, placeholder } from "./Photo";
import { PersonRow } from "./People";
import { ReportDialog } from "./Report";
import { usePaged } from "../lists";

export const STORY_MS = 5000;
const HOLD_MS = 220;


function TrayButton({
  user,
  before = "",
  text,
  after = "",
  ring,
  add = false,
  onClick,
}: {
  user: UserRef;
  before?: string;
  text: string;
  after?: string;
  ring?: "unseen" | "seen" | "close";
  add?: boolean;
  onClick: () => void;
}) {
  // The name holds the visible text with words around it for screen readers: "Story by alice, unseen".
  return (
    <li>
      <button type="button" class="tray-item" aria-label={`${before}${text}${after}`} onClick={onClick}>
        <span class="tray-avatar" aria-hidden="true">
          <Avatar username={user.username} size={62} ring={ring} />
          {add ? <span class="tray-add" /> : null}
        </span>
        <span class="tray-name">{text}</span>
      </button>
    </li>
  );
}

export function StoryTray() {
  const me = useStore(session);
  const version = useStore(trayVersion);
  const [tray, setTray] = useState<TrayEntry[] | null>(null);
  const [own, setOwn] = useState<Story[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const request = useRef(0);
  const load = () => {
    if (!me) return;
    // Only the latest reading counts: the tray is read again on every change, and answers may cross.
    const mine = ++request.current;
    setError(null);
    Promise.all([
      api<Page<TrayEntry>>("GET", paged("/stories/tray", null, 50)),
      api<Page<Story>>("GET", paged(`/users/${me.userId}/stories`, null, 50)),
    ]).then(
      ([entries, stories]) => {
        if (mine !== request.current) return;
        setTray(entries.items);
        setOwn(stories.items);
      },
      (failure: unknown) => mine === request.current && setError(failure instanceof ApiError ? failure : null),
    );
  };
  useEffect(load, [me?.userId, version]);
  if (!me) return null;
  const self: UserRef = { user_id: me.userId, username: me.username };
  const people = (tray ?? []).map((entry) => entry.user);
  return (
    <section class="tray" aria-label="Stories">
      <ul>
        {own.length ? (
          <TrayButton
            user={self}
            text="Your story"
            after={`, ${count(own.length, "story", "stories")}`}
            ring="seen"
            onClick={() => playStories([self], 0)}
          />
        ) : (
          <TrayButton user={self} text="Your story" after=": add one" add onClick={() => openUpload("story")} />
        )}
        {(tray ?? []).map((entry, index) => (
          <TrayButton
            key={entry.user.user_id}
            user={entry.user}
            before="Story by "
            text={entry.user.username}
            after={`${entry.close_friends ? ", close friends" : ""}${entry.has_unseen ? ", unseen" : ", seen"}`}
            ring={entry.has_unseen ? (entry.close_friends ? "close" : "unseen") : "seen"}
            onClick={() => playStories(people, index)}
          />
        ))}
      </ul>
      <ErrorNote error={error} onRetry={load} />
    </section>
  );
}

function ViewersDialog({ story, onClose }: { story: Story; onClose: () => void }) {
  const path = `/stories/${story.story_id}/viewers`;
  const [total, setTotal] = useState<number | null>(story.view_count ?? null);
  const list = usePaged(path, async (cursor) => {
    const page = await api<StoryViewers>("GET", paged(path, cursor, 30));
    setTotal(page.view_count);
    return page;
  });
  return (
    <Dialog title={total === null ? "Viewers" : count(total, "viewer", "viewers")} onClose={onClose} className="people-dialog">
      <ul class="people">
        {list.items.map((viewer) => (
          <PersonRow key={viewer.user.user_id} user={viewer.user}>
            <TimeAgo iso={viewer.viewed_at} />
          </PersonRow>
        ))}
      </ul>
      {list.done && !list.items.length ? <p class="muted">Nobody has seen this story yet.</p> : null}
      {list.loading ? <Loading /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </Dialog>
  );
}

/** Plays one person's stories after another: a bar per story, 5 s each, tap or arrows to move, hold to pause. */
function StoryPlayer({ show }: { show: Playing }) {
  const me = useStore(session);
  const [person, setPerson] = useState(show.start);
  const [stories, setStories] = useState<Story[] | null>(null);
  const [index, setIndex] = useState(0);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [listOpen, setListOpen] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [restarts, setRestarts] = useState(0);
  const views = useRef(new Map<string, Promise<unknown>>());
  const hold = useRef<{ timer: number; held: boolean } | null>(null);

  const close = () => {
    // The tray is read again once the views just sent are in, so its rings show them.
    void Promise.allSettled(views.current.values()).then(storiesChanged);
    playing.set(null);
  };

  // Load the current person's stories; start at their first unseen one.
  useEffect(() => {
    const user = show.people[person];
    if (!user) return close();
    let live = true;
    setStories(null);
    setError(null);
    const path = show.highlights ? `/users/${user.user_id}/highlights` : `/users/${user.user_id}/stories`;
    api<Page<Story>>("GET", paged(path, null, 50)).then(
      (page) => {
        if (!live) return;
        if (!page.items.length) return setPerson(person + 1);
        const wanted = show.startStory ? page.items.findIndex((s) => s.story_id === show.startStory) : -1;
        const unseen = page.items.findIndex((s) => !s.seen);
        setStories(page.items);
        setIndex(wanted >= 0 ? wanted : unseen >= 0 ? unseen : 0);
      },
      (failure: unknown) => live && setError(failure instanceof ApiError ? failure : null),
    );
    return () => {
      live = false;
    };
  }, [person, attempt]);

  const story = stories?.[index];
  const own = story?.author.user_id === me?.userId;
  useEffect(() => setLoaded(false), [story?.story_id]);

  // Record the view of each story shown (the API counts a viewer once; one's own views are not counted).
  useEffect(() => {
    if (!story || show.highlights || own || views.current.has(story.story_id)) return;
    const id = story.story_id;
    views.current.set(id, api("POST", `/stories/${id}/views`).catch(() => views.current.delete(id)));
  }, [story?.story_id]);

  const next = () => {
    if (stories && index < stories.length - 1) setIndex(index + 1);
    else setPerson(person + 1);
  };
  const previous = () => {
    if (index > 0) setIndex(index - 1);
    else if (person > 0) setPerson(person - 1);
    else setRestarts((n) => n + 1); // the very first story plays again from its start
  };

  const keys = useRef({ next, previous, listOpen: listOpen || reporting });
  keys.current = { next, previous, listOpen: listOpen || reporting };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (keys.current.listOpen) return;
      if (event.key === "ArrowRight") keys.current.next();
      else if (event.key === "ArrowLeft") keys.current.previous();
      else if (event.key === " " && (event.target as HTMLElement).tagName !== "BUTTON") setPaused((p) => !p);
      else return;
      event.preventDefault();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const user = show.people[person];
  // The bar fills by a CSS animation: 5 s from when the photo is shown, held while paused, held down or listing.
  const running = loaded && !paused && !held && !listOpen && !reporting;
  return (
    <Dialog title={`Stories by ${user?.username ?? ""}`} hideTitle onClose={close} className="story-dialog">
      <div class="story">
        <div class="story-bars" aria-hidden="true">
          {(stories ?? []).map((s, i) => (
            <span key={s.story_id} class="story-bar">
              {i < index ? <span class="full" /> : null}
              {i === index ? (
                <span
                  key={`${s.story_id}:${restarts}`}
                  class="filling"
                  style={{ animationDuration: `${STORY_MS}ms`, animationPlayState: running ? "running" : "paused" }}
                  onAnimationEnd={next}
                />
              ) : null}
            </span>
          ))}
        </div>
        <div class="story-head">
          {user ? (
            <a href={`/app/u/${user.username}`} onClick={close} class="author">
              <Avatar username={user.username} />
              <span>{user.username}</span>
            </a>
          ) : null}
          {story ? <TimeAgo iso={story.created_at} /> : null}
          {story?.audience === "close_friends" ? <span class="close-friends-label">Close friends</span> : null}
          <p class="sr-only" aria-live="polite">
            {stories ? `Story ${index + 1} of ${stories.length}` : ""}
          </p>
          <button
            type="button"
            class="icon-button push-right"
            aria-label="Pause"
            aria-pressed={paused}
            onClick={() => setPaused((p) => !p)}
          >
            <Icon name={paused ? "play" : "pause"} />
          </button>
        </div>
        <div
          class="story-stage"
          style={story?.blurhash ? { backgroundImage: `url(${placeholder(story.blurhash)})` } : undefined}
          onPointerDown={(event) => {
            // Captured, so letting go anywhere ends the hold.
            (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
            const state = { held: false, timer: 0 };
            state.timer = window.setTimeout(() => {
              state.held = true;
              setHeld(true);
            }, HOLD_MS);
            hold.current = state;
          }}
          onPointerUp={(event) => {
            const state = hold.current;
            hold.current = null;
            if (!state) return;
            clearTimeout(state.timer);
            if (state.held) {
              setHeld(false);
              return;
            }
            const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
            if (event.clientX - box.left < box.width / 3) previous();
            else next();
          }}
          onPointerCancel={() => {
            if (hold.current) clearTimeout(hold.current.timer);
            hold.current = null;
            setHeld(false);
          }}
        >
          {story ? (
            <img
              key={story.story_id}
              src={imageUrl(story.images, "1080")}
              width={story.width}
              height={story.height}
              alt={`Story by ${story.author.username}, posted ${agoLong(story.created_at)}`}
              draggable={false}
              onLoad={() => setLoaded(true)}
              onError={() => setLoaded(true)}
            />
          ) : error ? null : (
            <Loading label="Loading stories" />
          )}
        </div>
        <ErrorNote error={error} onRetry={() => setAttempt((n) => n + 1)} />
        <div class="story-nav">
          <button type="button" class="icon-button" aria-label="Previous story" onClick={previous}>
            <Icon name="left" />
          </button>
          {story && own && !show.highlights ? (
            <button type="button" class="button secondary small" onClick={() => setListOpen(true)}>
              Seen by {count(story.view_count ?? 0, "person", "people")}
            </button>
          ) : null}
          {story && !own && !show.highlights ? (
            <button
              type="button"
              class="button secondary small"
              aria-label={`Report story by ${story.author.username}`}
              onClick={() => setReporting(true)}
            >
              Report
            </button>
          ) : null}
          <button type="button" class="icon-button" aria-label="Next story" onClick={next}>
            <Icon name="right" />
          </button>
        </div>
      </div>
      {listOpen && story ? <ViewersDialog story={story} onClose={() => setListOpen(false)} /> : null}
      {reporting && story ? (
        <ReportDialog
          target={{ story_id: story.story_id }}
          what={`this story by ${story.author.username}`}
          onClose={() => setReporting(false)}
        />
      ) : null}
    </Dialog>
  );
}

/** The story player, started afresh for every play. */
export function StoryViewer() {
  const show = useStore(playing);
  return show ? <StoryPlayer key={show.id} show={show} /> : null;
}
