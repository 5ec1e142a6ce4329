// Your own post's options ("More options for this post": Edit post) and the dialog that edits its caption and
// location. The API's answer replaces the post everywhere the app shows it (feed, grid, post view).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { remember } from "../posts";
import type { Post } from "../types";
import { Dialog } from "./Dialog";

export function EditPostDialog({ post, onClose }: { post: Post; onClose: () => void }) {
  const [caption, setCaption] = useState(post.caption);
  const [location, setLocation] = useState(post.location ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // A 503 means the edit is saved but not yet shown everywhere: sending it again finishes it.
      remember([await api<Post>("PATCH", `/posts/${post.post_id}`, { caption, location: location.trim() || null })]);
      onClose();
    } catch (failure) {
      if (failure instanceof ApiError) setError(failure);
      else throw failure;
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Edit post" onClose={onClose} className="edit-post-dialog">
      <form class="upload" onSubmit={save}>
        <label class="field">
          <span>Caption</span>
          <textarea
            name="caption"
            maxLength={2200}
            rows={4}
            value={caption}
            disabled={busy}
            placeholder="Write a caption… #tags and @mentions work"
            onInput={(event) => setCaption((event.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <label class="field">
          <span>Location</span>
          <input
            name="location"
            maxLength={200}
            value={location}
            disabled={busy}
            placeholder="Add a place (optional)"
            onInput={(event) => setLocation((event.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <p class="muted small">People you newly @mention are told; nobody is told twice.</p>
        {error ? (
          <div class="error-note" role="alert">
            <p>{error.status === 503 ? "Your edit is saved but not shown everywhere yet. Save again." : error.message}</p>
          </div>
        ) : null}
        <div class="actions">
          <button type="button" class="button secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** "More options for this post" on your own post: a disclosure holding Edit post, closed by Escape or a click
 * elsewhere (focus goes back to the button that opened it). */
export function PostOptions({ post }: { post: Post }) {
  const [open, setOpen] = useState(false);
  const [editing, setEditing] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const panelId = `post-options-${post.post_id}`;
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
  return (
    <div class="more-options post-options">
      <button
        type="button"
        ref={trigger}
        class="icon-button"
        aria-label="More options for this post"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">&#8943;</span>
      </button>
      {open ? (
        <div id={panelId} class="options-panel" ref={panel}>
          <button
            type="button"
            class="option"
            onClick={() => {
              setOpen(false);
              setEditing(true);
            }}
          >
            Edit post
          </button>
        </div>
      ) : null}
      {editing ? <EditPostDialog post={post} onClose={() => setEditing(false)} /> : null}
    </div>
  );
}
