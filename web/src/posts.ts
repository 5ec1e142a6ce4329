// Posts the app has seen, by id, so a like or a comment shows the same in the feed, the grid and the post view.
import { api } from "./api";
import { forgetOnUserChange } from "./session";
import { createStore, useStore } from "./store";
import type { Post } from "./types";

const known = new Map<string, Post>();
const version = createStore(0);
// The latest like or unlike (save or unsave) asked for each post: an older answer arriving after a newer request is
// ignored.
const likeRequests = new Map<string, number>();
const saveRequests = new Map<string, number>();
forgetOnUserChange(() => {
  known.clear();
  likeRequests.clear();
  saveRequests.clear();
});

export function remember(posts: Post[]): Post[] {
  for (const post of posts) known.set(post.post_id, post);
  version.set(version.get() + 1);
  return posts;
}

export function update(postId: string, change: Partial<Post>): void {
  const post = known.get(postId);
  if (post) remember([{ ...post, ...change }]);
}

export function forget(postId: string): void {
  known.delete(postId);
  version.set(version.get() + 1);
}

export function usePost(postId: string): Post | undefined {
  useStore(version);
  return known.get(postId);
}

/** Likes or unlikes at once on screen; the API's answer then sets the count, and a failure puts it back. Only the
 * answer to the latest request for a post counts (a quick like then unlike sends both). */
export async function setLiked(postId: string, liked: boolean): Promise<void> {
  const before = known.get(postId);
  if (!before || before.liked_by_me === liked) return;
  const request = (likeRequests.get(postId) ?? 0) + 1;
  likeRequests.set(postId, request);
  update(postId, { liked_by_me: liked, like_count: Math.max(0, before.like_count + (liked ? 1 : -1)) });
  try {
    const answer = await api<{ liked: boolean; like_count: number }>(liked ? "PUT" : "DELETE", `/posts/${postId}/like`);
    if (likeRequests.get(postId) === request) update(postId, { liked_by_me: answer.liked, like_count: answer.like_count });
  } catch (error) {
    if (likeRequests.get(postId) === request) {
      update(postId, { liked_by_me: before.liked_by_me, like_count: before.like_count });
    }
    throw error;
  }
}

/** Saves or unsaves at once on screen; the API's answer then confirms it, and a failure puts it back. Only the answer
 * to the latest request for a post counts. */
export async function setSaved(postId: string, saved: boolean): Promise<void> {
  const before = known.get(postId);
  if (!before || Boolean(before.saved_by_me) === saved) return;
  const request = (saveRequests.get(postId) ?? 0) + 1;
  saveRequests.set(postId, request);
  update(postId, { saved_by_me: saved });
  try {
    const answer = await api<{ saved: boolean }>(saved ? "PUT" : "DELETE", `/posts/${postId}/save`);
    if (saveRequests.get(postId) === request) update(postId, { saved_by_me: answer.saved });
  } catch (error) {
    if (saveRequests.get(postId) === request) update(postId, { saved_by_me: before.saved_by_me });
    throw error;
  }
}
