// Deleting your account (DELETE /me): a dialog that says what goes and asks for the password again; once the
// server has switched the account off, the app signs out to the sign-in screen.
import { useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { signOut } from "../session";
import { Dialog } from "./Dialog";

export const ERASED = "Your account has been deleted. Everything of it is being removed within minutes.";

export function DeleteAccount() {
  const [open, setOpen] = useState(false);
  return (
    <section class="account delete-account" aria-labelledby="delete-account-title">
      <h2 id="delete-account-title">
        Delete account
      </h2>
      <p class="help">
        Your profile, posts, stories, comments, likes and everything else of yours are removed for good.
      </p>
      <button type="button" class="button danger wide" onClick={() => setOpen(true)}>
        Delete account…
      </button>
      {open ? <DeleteAccountDialog onClose={() => setOpen(false)} /> : null}
    </section>
  );
}

function DeleteAccountDialog({ onClose }: { onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const erase = async (event: Event) => {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget as HTMLFormElement).get("password") ?? "");
    setBusy(true);
    setError(null);
    try {
      await api("DELETE", "/me", { password });
      signOut(ERASED);
    } catch (failure) {
      setBusy(false);
      if (failure instanceof ApiError && failure.status === 403) {
        setError("That is not your password. Nothing was deleted.");
      } else {
        setError(failure instanceof ApiError ? failure.message : "Your account could not be deleted; try again.");
      }
    }
  };
  return (
    <Dialog title="Delete your account?" onClose={onClose} className="delete-account-dialog">
      <form onSubmit={erase}>
        <p>This cannot be undone. As soon as you confirm:</p>
        <ul class="help">
          <li>your profile, posts and stories disappear for everyone, and you are signed out;</li>
          <li>within minutes your photos, comments, likes, saves, follows, notifications and devices are deleted;</li>
          <li>your username becomes free for anyone to take.</li>
        </ul>
        <label class="field">
          <span>Your password</span>
          <input name="password" type="password" required autocomplete="current-password" disabled={busy} />
        </label>
        {error ? (
          <div class="error-note" role="alert">
            <p>{error}</p>
          </div>
        ) : null}
        <div class="actions">
          <button type="button" class="button secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="button danger" disabled={busy}>
            Delete my account
          </button>
        </div>
      </form>
    </Dialog>
  );
}
