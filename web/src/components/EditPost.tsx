// Your own post's options ("More options for this post": Edit post) and the dialog that edits its caption,
// location and each photo's alt text. The API's answer replaces the post everywhere the app shows it (feed, grid, post view).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { remember } from "../posts";
import type { Media, Post } from "../types";
import { Dialog } from "./Dialog";
import { imageUrl } from "./Photo";

const ALT_MAX = 1000;

export function EditPostDialog({ post, onClose }: { post: Post; onClose: () => void }) {
  const [caption, setCaption] = useState(post.caption);
  const [location, setLocation] = useState(post.location ?? "");
  const photos: Media[] = post.media?.length ? post.media : [post];
  const [alts, setAlts] = useState<string[]>(photos.map((photo) => photo.alt_text ?? ""));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // A 503 means the edit is saved but not yet shown everywhere: sending it again finishes it.
      const altTexts = alts.map((alt) => alt.trim());
      const altsChanged = altTexts.some((alt, i) => alt !== (photos[i].alt_text ?? ""));
      const changes = { caption, location: location.trim() || null, ...(altsChanged ? { alt_texts: altTexts } : {}) };
      remember([await api<Post>("PATCH", `/posts/${post.post_id}`, changes)]);
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
        <ol class="upload-photos edit-alt-texts" aria-label="Descriptions of each photo">
          {photos.map((photo, i) => (
            <li key={i}>
              <img src={imageUrl(photo.images, "150")} alt="" />
              <label class="field">
                <span>{photos.length > 1 ? `Alt text, image ${i + 1}` : "Alt text"}</span>
                <textarea
                  rows={2}
                  maxLength={ALT_MAX}
                  value={alts[i]}
                  disabled={busy}
                  placeholder="Describe it for people who can't see it"
                  onInput={(event) => {
                    const value = (event.currentTarget as HTMLTextAreaElement).value;
                    setAlts((now) => now.map((alt, j) => (j === i ? value : alt)));
                  }}
                />
              </label>
            </li>
          ))}
        </ol>
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
