// Settings: display name, bio, region, highlights, a private account; and signing out.
import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { ErrorNote, Loading } from "../components/Common";
import { ExportData } from "../components/ExportData";
import { signOut } from "../session";
import { useTitle } from "../title";
import type { Profile } from "../types";

export function Settings() {
  useTitle("Settings");
  const [me, setMe] = useState<Profile | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const load = () => {
    setError(null);
    api<Profile>("GET", "/me").then(setMe, (failure: unknown) => setError(failure instanceof ApiError ? failure : null));
  };
  useEffect(load, []);

  const save = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setSaved(false);
    setSaveError(null);
    try {
      setMe(
        await api<Profile>("PATCH", "/me", {
          display_name: String(form.get("display_name") ?? ""),
          bio: String(form.get("bio") ?? ""),
          region: String(form.get("region") ?? "").trim().toUpperCase(),
          highlights_enabled: form.get("highlights_enabled") === "on",
          private: form.get("private") === "on",
        }),
      );
      setSaved(true);
    } catch (failure) {
      setSaveError(failure instanceof ApiError ? failure : null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="column">
      <h1 class="page-title">Settings</h1>
      <ErrorNote error={error} onRetry={load} />
      {me ? (
        <form class="settings" onSubmit={save} onInput={() => setSaved(false)}>
          <label class="field">
            <span>Display name</span>
            <input name="display_name" maxLength={64} defaultValue={me.display_name} autocomplete="name" />
          </label>
          <label class="field">
            <span>Bio</span>
            <textarea name="bio" maxLength={150} rows={3} defaultValue={me.bio} />
          </label>
          <label class="field">
            <span>Region</span>
            <input
              name="region"
              maxLength={2}
              pattern="[A-Za-z]{2}"
              defaultValue={me.region ?? ""}
              autocomplete="country"
              aria-describedby="region-help"
            />
          </label>
          <p id="region-help" class="help">
            Your country as two letters (US, DE, JP…); Explore shows what is popular there. Leave empty for none.
          </p>
          <label class="check">
            <input type="checkbox" name="highlights_enabled" defaultChecked={!!me.highlights_enabled} />
            <span>Keep my stories as highlights on my profile after they expire</span>
          </label>
          <label class="check">
            <input type="checkbox" name="private" defaultChecked={!!me.private} aria-describedby="private-help" />
            <span>Private account</span>
          </label>
          <p id="private-help" class="help">
            Only people you approve see your posts, stories, highlights and lists; your profile stays visible. Turning
            it off approves everyone waiting. {me.private ? <a href="/app/requests">See follow requests</a> : null}
          </p>
          <ErrorNote error={saveError} />
          {saved ? (
            <p class="notice" role="status">
              Saved.
            </p>
          ) : null}
          <button type="submit" class="button primary" disabled={busy}>
            Save
          </button>
        </form>
      ) : error ? null : (
        <Loading />
      )}
      <section class="settings-links" aria-label="Stories">
        <a class="settings-link" href="/app/settings/close-friends">
          Close friends
          <span class="muted small">Who sees the stories you share with close friends</span>
        </a>
      </section>
      <ExportData />
      <section class="account phone-only" aria-label="Account">
        <button
          type="button"
          class="button secondary wide"
          onClick={() => signOut()}
        >
          Sign out
        </button>
      </section>
    </div>
  );
}
