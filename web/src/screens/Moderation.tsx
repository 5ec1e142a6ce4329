// The moderation queue (/app/moderation, moderators only): one entry per reported post, comment, story or account,
// most reported first, with a preview and the actions, each confirmed first. Who reported is not shown here.
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ApiError, api, paged } from "../api";
import { Empty, ErrorNote, Loading, MoreSentinel, TimeAgo } from "../components/Common";
import { Dialog } from "../components/Dialog";
import { reasonLabel } from "../components/Report";
import { count } from "../format";
import { dropKept, usePaged } from "../lists";
import { useTitle } from "../title";
import type { ModerationAction, ModerationEntry, Page } from "../types";

type Status = "open" | "resolved";

function kindOf(entry: ModerationEntry): "post" | "comment" | "story" | "account" {
  const t = entry.target;
  if (t.comment_id) return "comment";
  if (t.post_id) return "post";
  return t.story_id ? "story" : "account";
}

function who(entry: ModerationEntry): string {
  return entry.account?.username ?? `account ${entry.account_id}`;
}

const DONE: Record<ModerationAction, string> = {
  dismiss: "Dismissed",
  remove: "Removed",
  suspend: "Suspended the account",
  restore: "Restored the account",
};

function confirmation(action: ModerationAction, entry: ModerationEntry): { title: string; body: string; label: string } {
  const kind = kindOf(entry);
  const name = who(entry);
  switch (action) {
    case "dismiss":
      return { title: `Dismiss the reports of this ${kind}?`, body: "Nothing changes for it; it leaves the open queue.", label: "Dismiss" };
    case "remove":
      return {
        title: `Remove this ${kind}?`,
        body: `It is deleted for everyone, ${name} included${kind === "comment" ? "" : ", and its photo can't be uploaded again"}.`,
        label: "Remove",
      };
    case "suspend":
      return {
        title: `Suspend ${name}?`,
        body: `${name} is signed out at once and can't use Aperture; their profile, posts, stories and comments disappear for everyone until restored.`,
        label: "Suspend",
      };
    case "restore":
      return { title: `Restore ${name}?`, body: `${name} can sign in again, and their content comes back.`, label: "Restore" };
  }
}

function Entry({ entry, onResolved }: { entry: ModerationEntry; onResolved: (entry: ModerationEntry) => void }) {
  const [asking, setAsking] = useState<ModerationAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const kind = kindOf(entry);
  const preview = entry.preview;
  const resolve = async (action: ModerationAction) => {
    setBusy(true);
    setError(null);
    try {
      const resolved = await api<ModerationEntry>("POST", `/admin/reports/${entry.report_id}/resolve`, { action });
      setAsking(null);
      // What a removal or suspension hid is cached elsewhere in the app: load it afresh next time.
      dropKept();
      onResolved(resolved);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };
  const label = `Reported ${kind} by ${who(entry)}`;
  const actions: ModerationAction[] = [];
  if (entry.status === "open") actions.push("dismiss");
  if (kind !== "account" && preview) actions.push("remove");
  actions.push(entry.suspended ? "restore" : "suspend");
  const ask = asking ? confirmation(asking, entry) : null;
  return (
    <li>
      <article class="report-entry" aria-label={label}>
        <header class="report-head">
          <h2>{label}</h2>
          <p class="muted small">
            {count(entry.report_count, "report", "reports")} · first <TimeAgo iso={entry.first_reported_at} />
            {entry.status === "resolved" && entry.action ? ` · ${DONE[entry.action]}` : ""}
            {entry.suspended ? " · account suspended" : ""}
          </p>
        </header>
        <ul class="report-reasons" aria-label="Reasons">
          {entry.reasons.map((reason) => (
            <li key={reason}>{reasonLabel(reason)}</li>
          ))}
        </ul>
        {preview ? (
          <div class="report-preview">
            {preview.image_url ? (
              <img src={preview.image_url} alt={`The reported ${kind === "comment" ? "comment's post" : kind}`} width={96} height={96} />
            ) : null}
            <div>
              {preview.author ? (
                <a class="strong" href={`/app/u/${preview.author.username}`}>
                  {preview.author.username}
                </a>
              ) : null}
              {preview.text ?? preview.caption ?? preview.bio ? <p>{preview.text ?? preview.caption ?? preview.bio}</p> : null}
            </div>
          </div>
        ) : (
          <p class="muted small">The {kind} is gone.</p>
        )}
        <div class="report-actions">
          {actions.map((action) => (
            <button
              key={action}
              type="button"
              class={`button small ${action === "remove" || action === "suspend" ? "danger" : "secondary"}`}
              disabled={busy}
              onClick={() => setAsking(action)}
            >
              {confirmation(action, entry).label}
            </button>
          ))}
        </div>
        <ErrorNote error={asking ? null : error} />
      </article>
      {ask && asking ? (
        <Dialog title={ask.title} onClose={() => setAsking(null)}>
          <p>{ask.body}</p>
          <ErrorNote error={error} />
          <div class="actions">
            <button type="button" class="button secondary" onClick={() => setAsking(null)}>
              Cancel
            </button>
            <button
              type="button"
              class={`button ${asking === "dismiss" || asking === "restore" ? "primary" : "danger"}`}
              disabled={busy}
              onClick={() => resolve(asking)}
            >
              {ask.label}
            </button>
          </div>
        </Dialog>
      ) : null}
    </li>
  );
}

export function Moderation() {
  const { query } = useLocation();
  const status: Status = query.status === "resolved" ? "resolved" : "open";
  useTitle("Moderation");
  const list = usePaged<ModerationEntry>(`moderation:${status}`, (cursor) =>
    api<Page<ModerationEntry>>("GET", paged("/admin/reports", cursor, 20, { status })),
  );
  const [done, setDone] = useState("");
  const onResolved = (resolved: ModerationEntry) => {
    const kind = kindOf(resolved);
    setDone(`${DONE[resolved.action ?? "dismiss"]}: ${kind === "account" ? who(resolved) : `${kind} by ${who(resolved)}`}.`);
    list.setItems((items) =>
      status === "open"
        ? items.filter((e) => e.report_id !== resolved.report_id)
        : items.map((e) => (e.report_id === resolved.report_id ? resolved : e)),
    );
    dropKept("moderation:");
  };
  return (
    <div class="column">
      <h1 class="page-title">Moderation</h1>
      <nav class="profile-tabs" aria-label="Queue">
        <a href="/app/moderation" aria-current={status === "open" ? "page" : undefined}>
          Open
        </a>
        <a href="/app/moderation?status=resolved" aria-current={status === "resolved" ? "page" : undefined}>
          Resolved
        </a>
      </nav>
      <div role="status">{done ? <p class="notice report-done">{done}</p> : null}</div>
      {list.items.length ? (
        <ul class="report-list" aria-label={status === "open" ? "Open reports" : "Resolved reports"}>
          {list.items.map((entry) => (
            <Entry key={entry.report_id} entry={entry} onResolved={onResolved} />
          ))}
        </ul>
      ) : list.done ? (
        <Empty title={status === "open" ? "Nothing to review" : "Nothing resolved yet"}>
          <p>{status === "open" ? "Reports people send show here, most reported first." : "Entries you resolve show here."}</p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading reports" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
