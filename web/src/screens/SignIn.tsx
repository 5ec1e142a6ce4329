// Sign in and sign up. A new account is signed in at once.
import { useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { ErrorNote, OneTimeCodeField } from "../components/Common";
import { fromTokens, signIn, signedOutReason } from "../session";
import { useStore } from "../store";
import { useTitle } from "../title";
import type { Tokens } from "../types";

function Brand() {
  return (
    <div class="brand big">
      <img src="/app/favicon.svg" alt="" width={40} height={40} />
      <span>Aperture</span>
    </div>
  );
}

async function startSession(username: string, password: string): Promise<void> {
  const tokens = await api<Tokens>("POST", "/auth/token", { username, password }, { auth: false });
  signIn(fromTokens(tokens));
}

/** The second step for an account with two-step sign-in: the code, in the session the password step opened. */
async function finishSession(username: string, session: string, code: string): Promise<void> {
  const tokens = await api<Tokens>("POST", "/auth/token/totp", { username, session, code }, { auth: false });
  signIn(fromTokens(tokens));
}

function useForm() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, "client", String(failure)));
      setBusy(false);
    }
  };
  return { busy, error, run };
}

const value = (form: HTMLFormElement, name: string) => String(new FormData(form).get(name) ?? "");

export function SignIn() {
  useTitle("Sign in");
  const reason = useStore(signedOutReason);
  const { busy, error, run } = useForm();
  const [challenge, setChallenge] = useState<{ username: string; session: string } | null>(null);
  if (challenge) return <CodeStep {...challenge} onRestart={() => setChallenge(null)} />;
  return (
    <section class="auth-card">
      <Brand />
      <h1>Sign in</h1>
      {reason ? (
        <p class="notice" role="status">
          {reason}
        </p>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget as HTMLFormElement;
          const username = value(form, "username").trim().toLowerCase();
          run(async () => {
            try {
              await startSession(username, value(form, "password"));
            } catch (failure) {
              if (!(failure instanceof ApiError && failure.code === "mfa_required")) throw failure;
              setChallenge({ username, session: failure.session });
            }
          });
        }}
      >
        <label class="field">
          <span>Username</span>
          <input name="username" autocomplete="username" autocapitalize="none" spellcheck={false} required />
        </label>
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <ErrorNote error={error} />
        <button type="submit" class="button primary wide" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="switch">
        New to Aperture? <a href="/app/signup">Create an account</a>
      </p>
    </section>
  );
}

function CodeStep({ username, session, onRestart }: { username: string; session: string; onRestart: () => void }) {
  useTitle("Enter your code");
  const { busy, error, run } = useForm();
  return (
    <section class="auth-card">
      <Brand />
      <h1>Enter your code</h1>
      <p class="muted">Open your authenticator app and enter the 6-digit code it shows for Aperture.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const code = value(event.currentTarget as HTMLFormElement, "code").replace(/\s/g, "");
          run(() => finishSession(username, session, code));
        }}
      >
        <OneTimeCodeField label="Code" autoFocus />
        <ErrorNote error={error} />
        <button type="submit" class="button primary wide" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="switch">
        <button type="button" class="link-button" onClick={onRestart}>
          Start again
        </button>
      </p>
    </section>
  );
}

export function SignUp() {
  useTitle("Sign up");
  const { busy, error, run } = useForm();
  return (
    <section class="auth-card">
      <Brand />
      <h1>Create an account</h1>
      <p class="muted">Share photos and stories with the people you follow.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget as HTMLFormElement;
          const username = value(form, "username").trim().toLowerCase();
          const password = value(form, "password");
          run(async () => {
            await api("POST", "/auth/signup", { username, password, email: value(form, "email").trim() }, { auth: false });
            await startSession(username, password);
          });
        }}
      >
        <label class="field">
          <span>Email</span>
          <input name="email" type="email" autocomplete="email" required />
        </label>
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            minLength={3}
            maxLength={30}
            pattern="[a-zA-Z0-9._]+"
            aria-describedby="username-help"
          />
        </label>
        <p id="username-help" class="help">
          3 to 30 letters, digits, dots or underscores.
        </p>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            aria-describedby="password-help"
          />
        </label>
        <p id="password-help" class="help">
          At least 8 characters, with upper and lower case letters, a digit and a symbol.
        </p>
        <ErrorNote error={error} />
        <button type="submit" class="button primary wide" disabled={busy}>
          Sign up
        </button>
      </form>
      <p class="switch">
        Have an account? <a href="/app/signin">Sign in</a>
      </p>
    </section>
  );
}
