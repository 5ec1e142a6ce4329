// Cursor-paged lists (feed, explore, grids, comments, people): pages appended in order. A screen may keep its list
// for a few minutes, so Back returns to the same list at the same place; after that it loads afresh.
import { useCallback, useEffect, useReducer, useRef } from "preact/hooks";
import { ApiError } from "./api";
import { forgetOnUserChange } from "./session";
import type { Page } from "./types";

const KEEP_MS = 5 * 60_000;

export interface Paged<T> {
  items: T[];
  cursor: string | null;
  done: boolean;
  loading: boolean;
  error: ApiError | null;
  scrollY: number;
  loadedAt: number;
}

const kept = new Map<string, Paged<unknown>>();
forgetOnUserChange(() => kept.clear());

function fresh<T>(): Paged<T> {
  return { items: [], cursor: null, done: false, loading: false, error: null, scrollY: 0, loadedAt: Date.now() };
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, "client", String(error));
}

/** Forgets kept lists whose key starts with `prefix`, so the next visit loads them afresh (after a post, a follow). */
export function dropKept(prefix = ""): void {
  for (const key of [...kept.keys()]) if (key.startsWith(prefix)) kept.delete(key);
}

export interface PagedList<T> extends Paged<T> {
  loadMore(): void;
  setItems(change: (items: T[]) => T[]): void;
}

/** A list read page by page with `fetchPage(cursor)`; `key` names it, and a kept list survives leaving the screen. */
export function usePaged<T>(key: string, fetchPage: (cursor: string | null) => Promise<Page<T>>, keep = false): PagedList<T> {
  const state = useRef<Paged<T>>(fresh<T>());
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const fetcher = useRef(fetchPage);
  fetcher.current = fetchPage;

  const load = useCallback(() => {
    const list = state.current;
    if (list.loading || list.done) return;
    list.loading = true;
    list.error = null;
    rerender(0);
    fetcher.current(list.cursor).then(
      (page) => {
        list.items = [...list.items, ...page.items];
        list.cursor = page.next_cursor;
        list.done = !page.next_cursor;
        list.loading = false;
        if (state.current === list) rerender(0);
      },
      (error: unknown) => {
        list.loading = false;
        list.error = asApiError(error);
        if (state.current === list) rerender(0);
      },
    );
  }, []);

  useEffect(() => {
    const restored = keep ? (kept.get(key) as Paged<T> | undefined) : undefined;
    const usable = restored && !restored.error && Date.now() - restored.loadedAt < KEEP_MS;
    // A list answered for another key (or an older visit) is never shown: each visit has its own state object.
    state.current = usable ? { ...restored, loading: false } : fresh<T>();
    if (keep) kept.set(key, state.current as Paged<unknown>);
    rerender(0);
    if (usable && restored.items.length) {
      const y = restored.scrollY;
      requestAnimationFrame(() => scrollTo(0, y));
    } else {
      load();
    }
    const visit = state.current;
    return () => {
      visit.scrollY = scrollY;
    };
  }, [key]);

  return {
    ...state.current,
    loadMore: load,
    setItems(change) {
      state.current.items = change(state.current.items);
      rerender(0);
    },
  };
}
