// Small pieces every screen uses: avatars, times, errors with a retry, loading states, the infinite-scroll sentinel.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiError } from "../api";
import { ago, agoLong, avatarColour } from "../format";

export function Avatar({
  username,
  size = 32,
  ring,
}: {
  username: string;
  size?: number;
  ring?: "unseen" | "seen" | "close";
}) {
  return (
    <span class={`avatar${ring ? ` ring ring-${ring}` : ""}`} style={{ "--size": `${size}px` }} aria-hidden="true">
      {/* The initial is drawn by CSS (attr), so it is not text a name or a screen reader picks up. */}
      <span
        class="avatar-face"
        style={{ background: avatarColour(username) }}
        data-initial={username.charAt(0).toUpperCase()}
      />
    </span>
  );
}

export function TimeAgo({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString("en")} aria-label={agoLong(iso)}>
      {ago(iso)}
    </time>
  );
}

/** An API error where the action happened, in the API's message; a retry when trying again may help. */
export function ErrorNote({ error, onRetry }: { error: ApiError | null; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error-note" role="alert">
      <p>{error.message}</p>
      {onRetry && error.retryable ? (
        <button type="button" class="button secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      <span class="sr-only">{label}</span>
    </div>
  );
}

/** Calls `onVisible` when scrolled near: the next page of an infinite list. */
export function MoreSentinel({ onVisible, active }: { onVisible: () => void; active: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const callback = useRef(onVisible);
  callback.current = onVisible;
  useEffect(() => {
    if (!active || !ref.current) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) callback.current();
    }, { rootMargin: "600px 0px" });
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, [active]);
  return <div ref={ref} class="sentinel" aria-hidden="true" />;
}

/** Whether the element (given by the returned ref callback) has come near the screen yet; once true, it stays
 * true. For work worth doing only for what a person may see. */
export function useNearScreen(): [boolean, (element: Element | null) => void] {
  const [near, setNear] = useState(false);
  const [element, setElement] = useState<Element | null>(null);
  useEffect(() => {
    if (near || !element) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) setNear(true);
    }, { rootMargin: "300px 0px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, [near, element]);
  return [near, setElement];
}

export function Empty({ title, children, main = false }: { title: string; children?: ComponentChildren; main?: boolean }) {
  const Heading = main ? "h1" : "h2";
  return (
    <div class="empty">
      <Heading>{title}</Heading>
      {children}
    </div>
  );
}

/** The six digits of an authenticator app (a space in the middle allowed, as apps show them), named `code`. */
export function OneTimeCodeField({ label, autoFocus = false }: { label: string; autoFocus?: boolean }) {
  return (
    <label class="field">
      <span>{label}</span>
      <input
        name="code"
        inputMode="numeric"
        autocomplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        maxLength={7}
        required
        autoFocus={autoFocus}
      />
    </label>
  );
}
