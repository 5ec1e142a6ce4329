// One post as the feed and the post view show it: author, photo (double-tap to like), actions, likes, caption,
// the first comments.
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { count } from "../format";
import { setLiked, setSaved, usePost } from "../posts";
import { session } from "../session";
import { useStore } from "../store";
import type { Page, Post, UserRef } from "../types";
import { RichText } from "./Caption";
import { Avatar, ErrorNote, TimeAgo, useNearScreen } from "./Common";
import { PostOptions } from "./EditPost";
import { Icon } from "./Icon";
import { Carousel } from "./Carousel";
import { PeopleDialog } from "./People";
import { ReportDialog } from "./Report";

const DOUBLE_TAP_MS = 320;

/** The image's alt text: what the author wrote for it, else the caption, else who posted it. */
export function altText(post: Post): string {
  return post.media?.[0]?.alt_text || post.alt_text || post.caption || `Photo by ${post.author.username}`;
}

function LikedBy({ post, near, onShowLikes }: { post: Post; near: boolean; onShowLikes: () => void }) {
  const me = useStore(session);
  const [liker, setLiker] = useState<UserRef | null>(null);
  const hasLikes = post.like_count > 0;
  // Who liked it is asked for once the post comes near the screen, not for every post of a page at once.
  useEffect(() => {
    if (!hasLikes || liker || !near) return;
    let live = true;
    api<Page<UserRef>>("GET", paged(`/posts/${post.post_id}/likes`, null, 3))
      .then((page) => {
        if (live) setLiker(page.items.find((user) => user.user_id !== me?.userId) ?? null);
      })
      .catch(() => undefined); // "liked by" is a nicety; the count still shows.
    return () => {
      live = false;
    };
  }, [post.post_id, hasLikes, near]);
  if (!hasLikes) return null;
  const others = post.like_count - 1;
  const name = liker ? (
    <a href={`/app/u/${liker.username}`}>{liker.username}</a>
  ) : post.liked_by_me ? (
    "you"
  ) : null;
  if (!name) {
    return (
      <p class="likes">
        <button type="button" class="link strong" onClick={onShowLikes}>
          {count(post.like_count, "like", "likes")}
        </button>
      </p>
    );
  }
  return (
    <p class="likes">
      Liked by <strong>{name}</strong>
      {others > 0 ? (
        <>
          {" and "}
          <button type="button" class="link strong" onClick={onShowLikes}>
            {count(others, "other", "others")}
          </button>
        </>
      ) : null}
    </p>
  );
}

export function PostCard({
  postId,
  full = false,
  onComment,
  onDelete,
  eager = false,
}: {
  postId: string;
  full?: boolean;
  onComment?: () => void;
  onDelete?: () => void;
  eager?: boolean;
}) {
  const post = usePost(postId);
  const me = useStore(session);
  const { route } = useLocation();
  const [error, setError] = useState<ApiError | null>(null);
  const [burst, setBurst] = useState(0);
  const [showLikes, setShowLikes] = useState(false);
  const [reporting, setReporting] = useState(false);
  const lastTap = useRef(0);
  const tapLiked = useRef(Number.NEGATIVE_INFINITY);
  const [near, nearRef] = useNearScreen();
  if (!post) return null;

  const like = (liked: boolean) => {
    setError(null);
    setLiked(post.post_id, liked).catch((failure: unknown) => {
      if (failure instanceof ApiError) setError(failure);
    });
  };
  const save = (saved: boolean) => {
    setError(null);
    setSaved(post.post_id, saved).catch((failure: unknown) => {
      if (failure instanceof ApiError) setError(failure);
    });
  };
  const saved = Boolean(post.saved_by_me);
  const likeByTap = () => {
    setBurst((n) => n + 1);
    if (!post.liked_by_me) like(true);
  };
  const comment = () => (onComment ? onComment() : route(`/app/p/${post.post_id}?comment=1`));
  const username = post.author.username;
  const preview = full ? [] : post.comment_preview ?? [];

  return (
    <article class="post" aria-label={`Post by ${username}`} ref={nearRef}>
      <header class="post-header">
        <a class="author" href={`/app/u/${username}`}>
          <Avatar username={username} />
          <span>{username}</span>
        </a>
        <span class="muted dot" aria-hidden="true">
          •
        </span>
        <TimeAgo iso={post.created_at} />
        {post.edited_at ? (
          <span class="muted edited" title={`Edited ${new Date(post.edited_at).toLocaleString()}`}>
            Edited
          </span>
        ) : null}
        {post.location ? <span class="location muted">{post.location}</span> : null}
        {full && onDelete && me?.userId === post.author.user_id ? (
          <button type="button" class="link danger-text push-right" onClick={onDelete}>
            Delete post
          </button>
        ) : null}
        {me?.userId === post.author.user_id ? (
          <PostOptions post={post} />
        ) : (
          <button
            type="button"
            class="link muted small push-right"
            aria-label={`Report post by ${username}`}
            onClick={() => setReporting(true)}
          >
            Report
          </button>
        )}
      </header>
      <div
        class="post-media"
        onDblClick={() => {
          // A touch double tap was handled on pointerup; the browser may still send dblclick after it.
          if (performance.now() - tapLiked.current > 600) likeByTap();
        }}
        onPointerUp={(event) => {
          if (event.pointerType === "mouse") return;
          if (event.timeStamp - lastTap.current < DOUBLE_TAP_MS) {
            lastTap.current = 0;
            tapLiked.current = performance.now();
            likeByTap();
          } else {
            lastTap.current = event.timeStamp;
          }
        }}
      >
        <Carousel post={post} sizes="(min-width: 768px) 470px, 100vw" eager={eager} />
        {burst ? <span key={burst} class="burst" aria-hidden="true"><Icon name="heart" filled size={96} /></span> : null}
      </div>
      <div class="post-actions">
        <button
          type="button"
          class={`icon-button like${post.liked_by_me ? " liked" : ""}`}
          aria-pressed={post.liked_by_me}
          aria-label={post.liked_by_me ? "Unlike" : "Like"}
          onClick={() => like(!post.liked_by_me)}
        >
          <Icon name="heart" filled={post.liked_by_me} />
        </button>
        <button type="button" class="icon-button" aria-label="Comment" onClick={comment}>
          <Icon name="comment" />
        </button>
        <button
          type="button"
          class="icon-button save push-right"
          aria-pressed={saved}
          aria-label={saved ? "Remove from saved" : "Save"}
          title={saved ? "Remove from saved (only you can see what you save)" : "Save (only you can see it)"}
          onClick={() => save(!saved)}
        >
          <Icon name="bookmark" filled={saved} />
        </button>
      </div>
      <ErrorNote error={error} />
      <div class="post-text">
        <LikedBy post={post} near={near} onShowLikes={() => setShowLikes(true)} />
        {post.caption ? (
          <p class="caption">
            <a class="strong" href={`/app/u/${username}`}>
              {username}
            </a>{" "}
            <RichText text={post.caption} />
          </p>
        ) : null}
        {!full && post.comment_count > preview.length ? (
          <p>
            <a class="muted" href={`/app/p/${post.post_id}`}>
              View all {count(post.comment_count, "comment", "comments")}
            </a>
          </p>
        ) : null}
        {preview.length ? (
          <ul class="comment-preview">
            {preview.map((c) => (
              <li key={c.comment_id}>
                <a class="strong" href={`/app/u/${c.author.username}`}>
                  {c.author.username}
                </a>{" "}
                <RichText text={c.text} />
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {reporting ? (
        <ReportDialog target={{ post_id: post.post_id }} what="this post" onClose={() => setReporting(false)} />
      ) : null}
      {showLikes ? (
        <PeopleDialog title="Likes" path={`/posts/${post.post_id}/likes`} onClose={() => setShowLikes(false)} />
      ) : null}
    </article>
  );
}
