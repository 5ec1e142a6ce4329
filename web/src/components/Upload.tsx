// New post or story: choose or drop a photo (or up to ten, a carousel post), preview them, write alt text for each
// and a caption, send each straight to storage through its presigned POST (with byte progress over them all), then
// follow the processing until it is ready or refused.
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, newIdempotencyKey } from "../api";
import { dropKept } from "../lists";
import { type UploadKind as Kind, storiesChanged, uploadKind } from "../state";
import { useStore } from "../store";
import type { UploadGrant, UploadStatus } from "../types";
import { Dialog } from "./Dialog";
import { Icon } from "./Icon";

type Phase = "edit" | "uploading" | "processing" | "refused" | "slow";

const BY_EXTENSION: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  heic: "image/heic",
  heif: "image/heif",
};
const POLL_MS = 1000;
const MOST_PHOTOS = 10;
const ALT_MAX = 1000;
const PATIENCE_MS = 120_000;

/** The file's type as the API expects it; HEIC often comes without one, so the extension decides then. */
function contentType(file: File): string {
  const extension = file.name.split(".").pop()?.toLowerCase() ?? "";
  return file.type || BY_EXTENSION[extension] || "application/octet-stream";
}

/** Storage answers in XML; its <Message> is the reason. */
function storageError(xhr: XMLHttpRequest): ApiError {
  const message = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText ?? "")?.[1];
  return new ApiError(xhr.status, "storage_refused", `Storage refused the photo: ${message ?? `HTTP ${xhr.status}`}`);
}

function sendToStorage(
  grant: { url: string; fields: Record<string, string> },
  file: File,
  progress: (loaded: number, total: number) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    signal.addEventListener("abort", () => xhr.abort());
    xhr.onabort = () => reject(new ApiError(0, "aborted", "The upload was stopped."));
    xhr.open("POST", grant.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded, event.total);
    };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(storageError(xhr)));
    xhr.onerror = () =>
      reject(new ApiError(0, "network", "The photo could not be sent. Check your connection and try again."));
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
    form.append("file", file);
    xhr.send(form);
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function UploadDialog({ initialKind }: { initialKind: Kind }) {
  const { route } = useLocation();
  const [kind, setKind] = useState<Kind>(initialKind);
  const [files, setFiles] = useState<File[]>([]);
  const [previews, setPreviews] = useState<string[]>([]);
  const [alts, setAlts] = useState<string[]>([]);
  const [caption, setCaption] = useState("");
  const [audience, setAudience] = useState<"everyone" | "close_friends">("everyone");
  const [location, setLocation] = useState("");
  const [phase, setPhase] = useState<Phase>("edit");
  const [sent, setSent] = useState({ loaded: 0, total: 0 });
  const [status, setStatus] = useState<UploadStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [dragging, setDragging] = useState(false);
  // Closing the dialog stops the upload and the polling (an old upload must never close a new dialog).
  const stopped = useRef(new AbortController()).current;
  // The grant asked for with the current choices, and how many of the photos' bytes reached storage under it.
  const grant = useRef<UploadGrant | null>(null);
  const stored = useRef(0);
  // The key of the grant being asked for: a retry after a failed request asks again under it (nothing twice).
  const grantKey = useRef<string | null>(null);

  useEffect(() => () => stopped.abort(), []);
  useEffect(() => {
    const urls = files.map((chosen) => URL.createObjectURL(chosen));
    setPreviews(urls);
    return () => urls.forEach((url) => URL.revokeObjectURL(url));
  }, [files]);
  // Any change of photos, kind, caption, place, alt text or audience needs a new grant: the first one fixed them.
  useEffect(() => {
    grant.current = null;
    grantKey.current = null;
    stored.current = 0;
  }, [files, kind, caption, location, alts, audience]);
  const file = files[0] ?? null;
  const preview = previews[0] ?? null;
  const carousel = kind === "post" && files.length > 1;

  const close = () => uploadKind.set(null);
  const switchKind = (option: Kind) => {
    setKind(option);
    // A story is one photo: the first of those chosen
    if (option === "story" && files.length > 1) {
      setFiles(files.slice(0, 1));
      setAlts(alts.slice(0, 1));
    }
  };
  const choose = (chosen: FileList | null | undefined) => {
    if (!chosen?.length) return;
    const list = Array.from(chosen);
    if (kind === "post" && list.length > MOST_PHOTOS) {
      setError(new ApiError(422, "too_many_photos", `Choose at most ${MOST_PHOTOS} photos for one post.`));
      return;
    }
    const kept = kind === "story" ? list.slice(0, 1) : list;
    setFiles(kept);
    setAlts(kept.map(() => ""));
    setError(null);
    setPhase("edit");
  };

  const follow = async (uploadId: string): Promise<void> => {
    const started = Date.now();
    for (;;) {
      const now = await api<UploadStatus>("GET", `/uploads/${uploadId}`);
      if (stopped.signal.aborted) return;
      setStatus(now);
      if (now.status === "ready") {
        dropKept();
        close();
        if (now.kind === "story") storiesChanged();
        else route(`/app/p/${now.target_id}`);
        return;
      }
      if (now.status === "rejected" || now.status === "failed") {
        setPhase("refused");
        return;
      }
      if (Date.now() - started > PATIENCE_MS) {
        setPhase("slow");
        return;
      }
      await wait(POLL_MS);
      if (stopped.signal.aborted) return;
    }
  };

  const share = async (event: Event) => {
    event.preventDefault();
    if (!file) {
      setError(new ApiError(422, "no_photo", "Choose a photo to share first."));
      return;
    }
    setError(null);
    try {
      // A retry picks up where the last attempt stopped: once the bytes are stored, only the status is followed.
      if (stored.current < files.length) {
        setPhase("uploading");
        const total = files.reduce((sum, chosen) => sum + chosen.size, 0);
        setSent({ loaded: 0, total });
        if (!grant.current || Date.parse(grant.current.expires_at) < Date.now() + 30_000) {
          grantKey.current ??= newIdempotencyKey();
          const photos = files.map((chosen, i) => ({
            content_type: contentType(chosen),
            content_length: chosen.size,
            ...(kind === "post" && alts[i]?.trim() ? { alt_text: alts[i].trim() } : {}),
          }));
          const request = {
            kind,
            ...(carousel ? { items: photos } : photos[0]),
            ...(kind === "post" ? { caption } : {}),
            ...(location.trim() ? { location: location.trim() } : {}),
            ...(kind === "story" && audience === "close_friends" ? { audience } : {}),
          };
          grant.current = await api<UploadGrant>("POST", "/uploads", request, { idempotencyKey: grantKey.current });
          grantKey.current = null; // granted: a grant that expires is replaced under a new key
          stored.current = 0; // a new grant is a new upload: every photo goes to it
          if (stopped.signal.aborted) return;
        }
        // One photo after another, each to its own presigned POST; the bar counts the bytes of them all.
        const targets = grant.current.uploads ?? [grant.current];
        for (let i = stored.current; i < targets.length; i++) {
          const before = files.slice(0, i).reduce((sum, chosen) => sum + chosen.size, 0);
          await sendToStorage(targets[i], files[i], (loaded) => setSent({ loaded: before + loaded, total }), stopped.signal);
          stored.current = i + 1;
        }
      }
      if (!grant.current) return;
      setPhase("processing");
      await follow(grant.current.upload_id);
    } catch (failure) {
      if (stopped.signal.aborted) return;
      setPhase("edit");
      setError(failure instanceof ApiError ? failure : new ApiError(0, "client", String(failure)));
    }
  };

  const percent = sent.total ? Math.round((sent.loaded / sent.total) * 100) : 0;
  const busy = phase === "uploading" || phase === "processing";
  // A refused photo is refused again; a slow one is still on its way. Another photo (or closing) is the way on.
  const finished = phase === "refused" || phase === "slow";
  const noun = kind === "story" ? "story" : "post";
  return (
    <Dialog title={kind === "story" ? "New story" : "New post"} onClose={close} className="upload-dialog">
      <form class="upload" onSubmit={share}>
        <fieldset class="segmented" disabled={busy}>
          <legend class="sr-only">Share as</legend>
          {(["post", "story"] as Kind[]).map((option) => (
            <label key={option} class={kind === option ? "on" : ""}>
              <input type="radio" name="kind" value={option} checked={kind === option} onChange={() => switchKind(option)} />
              {option === "post" ? "Post" : "Story"}
            </label>
          ))}
        </fieldset>
        <div
          class={`dropzone${dragging ? " dragging" : ""}${preview ? " has-preview" : ""}`}
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(event) => {
            event.preventDefault();
            setDragging(false);
            if (!busy) choose(event.dataTransfer?.files);
          }}
        >
          {carousel ? (
            <ol class="upload-photos" aria-label={`${files.length} photos chosen`}>
              {previews.map((url, i) => (
                <li key={url}>
                  <img src={url} alt={`Preview of image ${i + 1}`} />
                  <label class="field">
                    <span>{`Alt text, image ${i + 1}`}</span>
                    <textarea
                      rows={2}
                      maxLength={ALT_MAX}
                      value={alts[i] ?? ""}
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
          ) : preview ? (
            <img src={preview} alt="Preview of the photo you chose" class="preview" />
          ) : (
            <div class="drop-hint">
              <Icon name="image" size={56} />
              <p>Drag a photo here</p>
            </div>
          )}
          <input
            id="upload-photo"
            class="file-input"
            type="file"
            aria-label={kind === "post" ? "Photo (or up to 10 photos)" : "Photo"}
            accept="image/jpeg,image/png,image/heic,image/heif,.heic,.heif"
            multiple={kind === "post"}
            disabled={busy}
            onChange={(event) => choose((event.currentTarget as HTMLInputElement).files)}
          />
          <label for="upload-photo" class="button secondary" aria-hidden="true">
            {preview ? "Choose other photos" : kind === "post" ? "Choose photos (up to 10)" : "Choose a photo"}
          </label>
        </div>
        {kind === "post" && file && !carousel ? (
          <label class="field">
            <span>Alt text</span>
            <textarea
              name="alt_text"
              maxLength={ALT_MAX}
              rows={2}
              value={alts[0] ?? ""}
              disabled={busy}
              placeholder="Describe the photo for people who can't see it"
              onInput={(event) => setAlts([(event.currentTarget as HTMLTextAreaElement).value])}
            />
          </label>
        ) : null}
        {kind === "post" ? (
          <label class="field">
            <span>Caption</span>
            <textarea
              name="caption"
              maxLength={2200}
              rows={3}
              value={caption}
              disabled={busy}
              placeholder="Write a caption… #tags and @mentions work"
              onInput={(event) => setCaption((event.currentTarget as HTMLTextAreaElement).value)}
            />
          </label>
        ) : null}
        {kind === "story" ? (
          <fieldset class="segmented audience" disabled={busy}>
            <legend>Who can see it</legend>
            {(["everyone", "close_friends"] as const).map((option) => (
              <label key={option} class={audience === option ? "on" : ""}>
                <input
                  type="radio"
                  name="audience"
                  value={option}
                  checked={audience === option}
                  onChange={() => setAudience(option)}
                />
                {option === "everyone" ? "Everyone" : "Close friends"}
              </label>
            ))}
          </fieldset>
        ) : null}
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
        {phase === "uploading" ? (
          <div class="progress">
            <p class="sr-only" role="status">
              {files.length > 1 ? `Sending your ${files.length} photos` : "Sending your photo"}
            </p>
            <progress max={100} value={percent} aria-label="Upload progress" />
            <span aria-hidden="true">
              Sending… {percent}%{sent.total ? ` of ${(sent.total / 1024).toFixed(0)} KB` : ""}
            </span>
          </div>
        ) : null}
        {phase === "processing" ? (
          <p class="processing" role="status">
            <span class="spinner" aria-hidden="true" /> Processing your {noun}
            {status ? ` (${status.status})` : ""}…
          </p>
        ) : null}
        {phase === "refused" && status ? (
          <div class="error-note" role="alert">
            <p>
              Your {noun} was not shared
              {status.item !== null && status.item !== undefined ? ` (photo ${status.item + 1})` : ""}:{" "}
              {status.reason ?? status.status}
            </p>
          </div>
        ) : null}
        {phase === "slow" ? (
          <p role="status">Still processing. It will appear on your profile when it is ready; you can close this.</p>
        ) : null}
        {error ? (
          <div class="error-note" role="alert">
            <p>{error.message}</p>
          </div>
        ) : null}
        <button type="submit" class="button primary wide" disabled={busy || finished}>
          {error?.retryable ? "Try again" : "Share"}
        </button>
      </form>
    </Dialog>
  );
}

export function UploadHost() {
  const kind = useStore(uploadKind);
  return kind ? <UploadDialog initialKind={kind} /> : null;
}
