// One post (/app/p/{post_id}): the photo, caption, every comment with a composer, the likes, delete for the author.
import { useLocation, useRoute } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, newIdempotencyKey, paged } from "../api";
import { RichText } from "../components/Caption";
import { Avatar, Empty, ErrorNote, Loading, TimeAgo } from "../components/Common";
import { Dialog } from "../components/Dialog";
import { PostCard } from "../components/PostCard";
import { ReportDialog } from "../components/Report";
import { count } from "../format";
import { dropKept, usePaged } from "../lists";
import { forget, remember, update, usePost } from "../posts";
import { session } from "../session";
import { useStore } from "../store";
import { useTitle } from "../title";
import type { Comment, Page, Post } from "../types";

function Comments({ post, composer }: { post: Post; composer: { current: HTMLTextAreaElement | null } }) {
  const me = useStore(session);
  const path = `/posts/${post.post_id}/comments`;
  const list = usePaged<Comment>(path, (cursor) => api<Page<Comment>>("GET", paged(path, cursor, 50)));
  // Comments written here; shown after the loaded ones once every page is in (a page may be loading meanwhile).
  const [mine, setMine] = useState<Comment[]>([]);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  // The key of the comment being sent: sending the same words again after a failure cannot post them twice.
  const attempt = useRef<{ text: string; key: string } | null>(null);
  const [reporting, setReporting] = useState<Comment | null>(null);

  const send = async (event: Event) => {
    event.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    if (attempt.current?.text !== text) attempt.current = { text, key: newIdempotencyKey() };
    try {
      const added = await api<Comment>("POST", path, { text }, { idempotencyKey: attempt.current.key });
      attempt.current = null;
      setText("");
      setMine((written) => [...written, added]);
      update(post.post_id, { comment_count: post.comment_count + 1 });
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (comment: Comment) => {
    setError(null);
    try {
      await api("DELETE", `${path}/${comment.comment_id}`);
      const others = (c: Comment) => c.comment_id !== comment.comment_id;
      list.setItems((items) => items.filter(others));
      setMine((written) => written.filter(others));
      update(post.post_id, { comment_count: Math.max(0, post.comment_count - 1) });
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
    }
  };

  const shown = [...list.items, ...(list.done ? mine : [])].filter(
    (comment, index, all) => all.findIndex((c) => c.comment_id === comment.comment_id) === index,
  );
  return (
    <section class="comments" aria-labelledby="comments-title">
      <h2 id="comments-title">{count(post.comment_count, "comment", "comments")}</h2>
      {shown.length ? (
        <ul>
          {shown.map((comment) => (
            <li key={comment.comment_id} class="comment">
              <Avatar username={comment.author.username} />
              <p>
                <a class="strong" href={`/app/u/${comment.author.username}`}>
                  {comment.author.username}
                </a>{" "}
                <RichText text={comment.text} /> <TimeAgo iso={comment.created_at} />
              </p>
              {me && (me.userId === comment.author.user_id || me.userId === post.author.user_id) ? (
                <button
                  type="button"
                  class="link muted small"
                  aria-label={`Delete comment by ${comment.author.username}`}
                  onClick={() => remove(comment)}
                >
                  Delete comment
                </button>
              ) : null}
              {me && me.userId !== comment.author.user_id ? (
                <button
                  type="button"
                  class="link muted small"
                  aria-label={`Report comment by ${comment.author.username}`}
                  onClick={() => setReporting(comment)}
                >
                  Report
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : list.done ? (
        <p class="muted">No comments yet. Start the conversation.</p>
      ) : null}
      {reporting ? (
        <ReportDialog
          target={{ post_id: post.post_id, comment_id: reporting.comment_id }}
          what={`this comment by ${reporting.author.username}`}
          onClose={() => setReporting(null)}
        />
      ) : null}
      {list.loading ? <Loading label="Loading comments" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      {!list.done && !list.loading && !list.error ? (
        <button type="button" class="link" onClick={list.loadMore}>
          Load more comments
        </button>
      ) : null}
      <form class="composer" onSubmit={send}>
        <label class="sr-only" for="comment-text">
          Add a comment
        </label>
        <textarea
          id="comment-text"
          ref={composer}
          rows={1}
          maxLength={2200}
          placeholder="Add a comment…"
          value={text}
          disabled={busy}
          onInput={(event) => setText((event.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey) send(event);
          }}
        />
        <button type="submit" class="button link strong" disabled={busy || !text.trim()}>
          Post
        </button>
      </form>
      <ErrorNote error={error} />
    </section>
  );
}

export function PostView() {
  const { params } = useRoute();
  const { query, route } = useLocation();
  const postId = params.postId;
  const post = usePost(postId);
  const [error, setError] = useState<ApiError | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  useTitle(post ? `${post.author.username}: ${post.caption.slice(0, 40) || "photo"}` : "Post");

  const load = () => {
    setError(null);
    api<Post>("GET", `/posts/${postId}`).then(
      (fresh) => remember([fresh]),
      (failure: unknown) => setError(failure instanceof ApiError ? failure : null),
    );
  };
  useEffect(load, [postId]);
  useEffect(() => {
    if (post && query.comment) composer.current?.focus();
  }, [post?.post_id, query.comment]);

  const remove = async () => {
    setDeleteError(null);
    try {
      await api("DELETE", `/posts/${postId}`);
      forget(postId);
      dropKept();
      setConfirming(false);
      route(`/app/u/${session.get()?.username ?? ""}`, true);
    } catch (failure) {
      setDeleteError(failure instanceof ApiError ? failure : null);
    }
  };

  if (error && error.code === "private_account") {
    return (
      <div class="column">
        <Empty title="This account is private" main>
          <p>Only the people its owner approves see its posts: ask to follow from their profile.</p>
          <a href="/app/">Back to your feed</a>
        </Empty>
      </div>
    );
  }
  if (error && error.status === 404) {
    return (
      <div class="column">
        <Empty title="This post isn't available" main>
          <p>It may have been deleted, or its author isn't sharing it with you.</p>
          <a href="/app/">Back to your feed</a>
        </Empty>
      </div>
    );
  }
  return (
    <div class="column">
      <h1 class="sr-only">{post ? `Post by ${post.author.username}` : "Post"}</h1>
      <ErrorNote error={error} onRetry={load} />
      {post ? (
        <>
          <PostCard
            postId={postId}
            full
            eager
            onComment={() => composer.current?.focus()}
            onDelete={() => setConfirming(true)}
          />
          <Comments post={post} composer={composer} />
        </>
      ) : error ? null : (
        <Loading label="Loading the post" />
      )}
      {confirming ? (
        <Dialog title="Delete this post?" onClose={() => setConfirming(false)}>
          <p>It will be gone from every feed and profile, with its likes and comments.</p>
          <ErrorNote error={deleteError} />
          <div class="actions">
            <button type="button" class="button secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button type="button" class="button danger" onClick={remove}>
              Delete
            </button>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}
