// Cursor-paged lists (feed, explore, grids, comments, people): pages appended in order, kept per screen so Back
// returns to the same list at the same place.
import { useCallback, useEffect, useReducer, useRef } from "preact/hooks";
import { ApiError } from "./api";
import type { Page } from "./types";

export interface Paged<T> {
  items: T[];
  cursor: string | null;
  done: boolean;
  loading: boolean;
  error: ApiError | null;
  scrollY: number;
}

const kept = new Map<string, Paged<unknown>>();

function fresh<T>(): Paged<T> {
  return { items: [], cursor: null, done: false, loading: false, error: null, scrollY: 0 };
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, "client", String(error));
}

/** Forgets a kept list, so the next visit loads it afresh (after a post, a follow, a sign-out). */
export function dropKept(prefix = ""): void {
  for (const key of [...kept.keys()]) if (key.startsWith(prefix)) kept.delete(key);
}

export interface PagedList<T> extends Paged<T> {
  loadMore(): void;
  reload(): void;
  setItems(change: (items: T[]) => T[]): void;
}

/** A list read page by page with `fetchPage(cursor)`; `key` names it, and a kept list survives leaving the screen. */
export function usePaged<T>(key: string, fetchPage: (cursor: string | null) => Promise<Page<T>>, keep = false): PagedList<T> {
  const state = useRef<Paged<T>>(fresh<T>());
  const current = useRef(key);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const fetcher = useRef(fetchPage);
  fetcher.current = fetchPage;

  const load = useCallback(() => {
    const list = state.current;
    if (list.loading || list.done) return;
    const loadingKey = current.current;
    list.loading = true;
    list.error = null;
    rerender(0);
    fetcher.current(list.cursor).then(
      (page) => {
        if (current.current !== loadingKey) return;
        list.items = [...list.items, ...page.items];
        list.cursor = page.next_cursor;
        list.done = !page.next_cursor;
        list.loading = false;
        rerender(0);
      },
      (error: unknown) => {
        if (current.current !== loadingKey) return;
        list.loading = false;
        list.error = asApiError(error);
        rerender(0);
      },
    );
  }, []);

  useEffect(() => {
    current.current = key;
    const restored = keep ? (kept.get(key) as Paged<T> | undefined) : undefined;
    state.current = restored && !restored.error ? { ...restored, loading: false } : fresh<T>();
    if (keep) kept.set(key, state.current as Paged<unknown>);
    rerender(0);
    if (restored && restored.items.length) {
      const y = restored.scrollY;
      requestAnimationFrame(() => scrollTo(0, y));
    } else {
      load();
    }
    return () => {
      state.current.scrollY = scrollY;
    };
  }, [key]);

  return {
    ...state.current,
    loadMore: load,
    reload() {
      state.current = fresh<T>();
      if (keep) kept.set(key, state.current as Paged<unknown>);
      load();
    },
    setItems(change) {
      state.current.items = change(state.current.items);
      rerender(0);
    },
  };
}
