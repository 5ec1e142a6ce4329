// Reading pages of posts: they join the known posts, and the list keeps only their ids (in order, once each).
import { api, paged } from "./api";
import { remember } from "./posts";
import type { Page, Post } from "./types";

export function postPages(path: string, limit: number, extra: Record<string, string> = {}) {
  return async (cursor: string | null): Promise<Page<string>> => {
    const page = await api<Page<Post>>("GET", paged(path, cursor, limit, extra));
    return { items: remember(page.items).map((post) => post.post_id), next_cursor: page.next_cursor };
  };
}

export function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
