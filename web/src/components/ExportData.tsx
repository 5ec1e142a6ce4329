// "Download your data": starts an export, follows its progress (polling, backing off), then offers the ZIP until its
// link expires. The export being built is remembered in this browser, so leaving Settings and coming back resumes.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { ErrorNote } from "./Common";

interface ExportStatus {
  export_id: string;
  status: "pending" | "ready" | "failed";
  requested_at: string;
  progress: { stage: "queued" | "collecting" | "photos" | "uploading" | "done"; photos_done: number; photos_total: number };
  url?: string | null;
  expires_at?: string | null;
  size_bytes?: number | null;
  reason?: string | null;
}

const REMEMBERED = "aperture.export";
const FIRST_POLL_MS = 1_000;
const LONGEST_POLL_MS = 15_000;

const STAGES: Record<ExportStatus["progress"]["stage"], string> = {
  queued: "Waiting to start…",
  collecting: "Gathering your profile, posts, comments, likes, follows and stories…",
  photos: "Adding your photos…",
  uploading: "Finishing the file…",
  done: "Done.",
};

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString("en", { dateStyle: "medium", timeStyle: "short" });
}

export function ExportData() {
  const [current, setCurrent] = useState<ExportStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const timer = useRef<number | undefined>(undefined);

  const follow = (exportId: string, wait: number) => {
    window.clearTimeout(timer.current);
    api<ExportStatus>("GET", `/me/exports/${encodeURIComponent(exportId)}`).then(
      (status) => {
        setError(null);
        setCurrent(status);
        if (status.status === "pending") {
          // Backing off: a small account is ready in seconds, a large one takes minutes
          timer.current = window.setTimeout(() => follow(exportId, Math.min(wait * 2, LONGEST_POLL_MS)), wait);
        }
      },
      (failure: unknown) => {
        if (failure instanceof ApiError && failure.status === 404) {
          localStorage.removeItem(REMEMBERED); // (someone else's, from another session in this browser)
          setCurrent(null);
          return;
        }
        setError(failure instanceof ApiError ? failure : null);
        timer.current = window.setTimeout(() => follow(exportId, LONGEST_POLL_MS), LONGEST_POLL_MS);
      },
    );
  };

  useEffect(() => {
    const remembered = localStorage.getItem(REMEMBERED);
    if (remembered) follow(remembered, FIRST_POLL_MS);
    return () => window.clearTimeout(timer.current);
  }, []);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const { export_id } = await api<{ export_id: string }>("POST", "/me/export");
      localStorage.setItem(REMEMBERED, export_id);
      follow(export_id, FIRST_POLL_MS);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };

  const pending = current?.status === "pending";
  const expired = current?.status === "ready" && !current.url;
  const { stage, photos_done, photos_total } = current?.progress ?? { stage: "queued", photos_done: 0, photos_total: 0 };
  return (
    <section class="export-data" aria-labelledby="export-title">
      <h2 id="export-title" class="section-title">
        Download your data
      </h2>
      <p class="help">
        A ZIP file of your profile, posts, comments, likes, followers, following and stories, with every photo you
        posted at its largest size. The link works for a day.
      </p>
      {pending ? (
        <div class="progress" role="status" aria-live="polite">
          <span>{STAGES[stage]}</span>
          {stage === "photos" && photos_total > 0 ? (
            <>
              <progress max={photos_total} value={photos_done} aria-label="Photos added" />
              <span class="muted small">
                {photos_done} of {photos_total} photos
              </span>
            </>
          ) : (
            <progress aria-label="Preparing your data" />
          )}
        </div>
      ) : null}
      {current?.status === "ready" && current.url ? (
        <div class="notice" role="status">
          <a class="button primary" href={current.url} download>
            Download your data{current.size_bytes ? ` (ZIP, ${megabytes(current.size_bytes)})` : ""}
          </a>
          {current.expires_at ? (
            <p class="muted small export-expiry">
              The link works until <time dateTime={current.expires_at}>{when(current.expires_at)}</time>.
            </p>
          ) : null}
        </div>
      ) : null}
      {current?.status === "failed" || expired ? (
        <p class="notice" role="status">
          {current?.reason ?? "That export could not be made."}
        </p>
      ) : null}
      <ErrorNote error={error} />
      {pending ? null : (
        <button type="button" class="button secondary" onClick={start} disabled={busy}>
          {current ? "Start a new export" : "Request your data"}
        </button>
      )}
    </section>
  );
}
