// Who is signed in: the tokens, kept in localStorage so a reload or a new tab stays signed in, and every tab
// follows a sign-in or sign-out made in another.
import { createStore } from "./store";
import type { Tokens } from "./types";

export interface Session {
  idToken: string;
  // Cognito's access token: only for setting up an authenticator app (POST /me/mfa/totp), which Cognito ties to it.
  accessToken?: string;
  refreshToken: string;
  expiresAt: number; // ms since the epoch
  userId: string;
  username: string;
  groups?: string[]; // the IdToken's cognito:groups (what the navigation shows; the API decides what is allowed)
}

// The Cognito group whose members moderate (the API's APERTURE_MODERATOR_GROUP default).
export const MODERATORS = "moderators";

export function isModerator(current: Session | null): boolean {
  return Boolean(current?.groups?.includes(MODERATORS));
}

const KEY = "aperture.session";

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export const session = createStore<Session | null>(read());
// Why the last session ended, shown on the sign-in screen.
export const signedOutReason = createStore<string>("");

export function fromTokens(tokens: Tokens, refreshToken?: string): Session {
  const claims = claimsOf(tokens.id_token);
  return {
    idToken: tokens.id_token,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token || refreshToken || "",
    expiresAt: Date.now() + tokens.expires_in * 1000,
    userId: String(claims["custom:user_id"] ?? ""),
    username: String(claims["cognito:username"] ?? ""),
    groups: Array.isArray(claims["cognito:groups"]) ? (claims["cognito:groups"] as unknown[]).map(String) : [],
  };
}

export function signIn(next: Session): void {
  localStorage.setItem(KEY, JSON.stringify(next));
  signedOutReason.set("");
  session.set(next);
}

export function signOut(reason = ""): void {
  localStorage.removeItem(KEY);
  signedOutReason.set(reason);
  session.set(null);
}

addEventListener("storage", (event) => {
  if (event.key === KEY || event.key === null) session.set(read());
});

/** Runs `forget` whenever the signed-in person changes (sign-out, here or in another tab, or someone else signing
 * in): what one person's screens cached must never show to the next. */
export function forgetOnUserChange(forget: () => void): void {
  let user = session.get()?.userId ?? null;
  session.subscribe(() => {
    const now = session.get()?.userId ?? null;
    if (now !== user) forget();
    user = now;
  });
}
