// Settings: display name, bio, region, highlights, a private account; two-step sign-in; your data (export,
// deleting the account); and signing out.
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, signOutEverywhere } from "../api";
import { ErrorNote, Loading, OneTimeCodeField } from "../components/Common";
import { DeleteAccount } from "../components/DeleteAccount";
import { ExportData } from "../components/ExportData";
import { session } from "../session";
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
      <TwoStepSignIn />
      <DeleteAccount />
      <section class="account phone-only" aria-label="Account">
        <button
          type="button"
          class="button secondary wide"
          onClick={() => void signOutEverywhere()}
        >
          Sign out
        </button>
      </section>
    </div>
  );
}

interface TotpSetup {
  secret: string;
  otpauth_uri: string;
}

/** Adds an authenticator app: Cognito gives a secret (shown, and as an otpauth: link that phones open in the app),
 * and a code from the app turns it on. From then on signing in asks for a code after the password. */
function TwoStepSignIn() {
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [enabled, setEnabled] = useState(false);
  const [busy, setBusy] = useState(false);
  const attempt = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, "client", String(failure)));
    } finally {
      setBusy(false);
    }
  };
  const accessToken = () => {
    const token = session.get()?.accessToken;
    if (!token) throw new ApiError(0, "client", "Sign out and sign in again to set up an authenticator app.");
    return token;
  };
  const start = () =>
    attempt(async () => {
      setEnabled(false);
      setSetup(await api<TotpSetup>("POST", "/me/mfa/totp", { access_token: accessToken() }));
    });
  const verify = (event: Event) => {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget as HTMLFormElement).get("code") ?? "").replace(/\s/g, "");
    return attempt(async () => {
      await api("POST", "/me/mfa/totp/verify", { access_token: accessToken(), code });
      setSetup(null);
      setEnabled(true);
    });
  };
  return (
    <section class="settings two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title" class="section-title">
        Two-step sign-in
      </h2>
      <p class="help">
        Ask for a code from an authenticator app (such as 1Password, Google Authenticator or Aegis) after your password.
      </p>
      {enabled ? (
        <p class="notice" role="status">
          Two-step sign-in is on. Next time you sign in, Aperture asks for a code from your app.
        </p>
      ) : null}
      {setup ? (
        <form onSubmit={verify}>
          <p>
            Add this key to your authenticator app, or <a href={setup.otpauth_uri}>open it in the app</a> on this phone:
          </p>
          <p class="totp-secret" aria-label="Authenticator key">
            <code>{setup.secret.match(/.{1,4}/g)?.join(" ") ?? setup.secret}</code>
          </p>
          <OneTimeCodeField label="Code from the app" />
          <ErrorNote error={error} />
          <button type="submit" class="button primary" disabled={busy}>
            Turn on
          </button>
        </form>
      ) : (
        <>
          <ErrorNote error={error} />
          <button type="button" class="button secondary" disabled={busy} onClick={() => void start()}>
            {enabled ? "Set up a new authenticator app" : "Set up an authenticator app"}
          </button>
        </>
      )}
    </section>
  );
}
