// "Report": a dialog asking why (the API's reasons), with an optional note. The reported account is never told who
// reported it; reporting the same thing again changes nothing.
import { useRef, useState } from "preact/hooks";
import { ApiError, api, newIdempotencyKey } from "../api";
import type { ReportReason, ReportTarget } from "../types";
import { ErrorNote } from "./Common";
import { Dialog } from "./Dialog";

export const REASONS: { value: ReportReason; label: string }[] = [
  { value: "spam", label: "Spam" },
  { value: "nudity", label: "Nudity or sexual content" },
  { value: "violence", label: "Violence or threats" },
  { value: "harassment", label: "Harassment or bullying" },
  { value: "hate", label: "Hate speech or symbols" },
  { value: "self_harm", label: "Self-harm" },
  { value: "other", label: "Something else" },
];

export function reasonLabel(reason: ReportReason): string {
  return REASONS.find((r) => r.value === reason)?.label ?? reason;
}

export function ReportDialog({ target, what, onClose }: { target: ReportTarget; what: string; onClose: () => void }) {
  const [reason, setReason] = useState<ReportReason | null>(null);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  // One key for this report however often it is retried: the server files it once.
  const key = useRef(newIdempotencyKey()).current;
  const send = async (event: Event) => {
    event.preventDefault();
    if (!reason) return;
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/reports", { target, reason, ...(note.trim() ? { note: note.trim() } : {}) }, { idempotencyKey: key });
      setSent(true);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Report ${what}`} onClose={onClose}>
      {sent ? (
        <>
          <p role="status" class="notice">
            Thanks for telling us. Moderators will review it; {what.startsWith("this") ? "its author" : "they"} won't
            be told who reported it.
          </p>
          <div class="actions">
            <button type="button" class="button primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={send}>
          <fieldset class="reasons">
            <legend>Why are you reporting {what}?</legend>
            {REASONS.map((r) => (
              <label key={r.value} class="reason">
                <input
                  type="radio"
                  name="reason"
                  value={r.value}
                  checked={reason === r.value}
                  onChange={() => setReason(r.value)}
                />
                <span>{r.label}</span>
              </label>
            ))}
          </fieldset>
          <label class="field">
            <span>Anything moderators should know (optional)</span>
            <textarea rows={3} maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <ErrorNote error={error} />
          <div class="actions">
            <button type="button" class="button secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="button danger" disabled={!reason || busy}>
              Report
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
