// The HTTP API client: JSON in and out, the bearer token, one refresh on expiry, errors in the API's own words.
import { fromTokens, session, signIn, signOut } from "./session";
import type { Tokens } from "./types";

export interface Config {
  api_url: string;
}

let base = "";

/** Reads config.json (written at deploy on AWS, served by the local runtime): where the API is. */
export async function loadConfig(): Promise<void> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = (await response.json()) as Config;
  base = (config.api_url || location.origin).replace(/\/+$/, "");
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    // With code "mfa_required": the sign-in challenge to answer with the authenticator's code.
    readonly session: string = "",
    /** Seconds the server asked to wait before trying again (Retry-After), if it said. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }

  /** A network failure, a server error or a throttle: the same request may well work again. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

const EXPIRED = "Your session has ended. Sign in again to carry on.";
const DISABLED = "This account is suspended or being deleted, so it has been signed out.";
const REFRESH_MARGIN_MS = 60_000;
let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for new tokens once, however many requests are waiting for it. False when there is no
 * refresh token or Cognito refuses it; a network failure or a server error is thrown (the person may retry). */
function refresh(): Promise<boolean> {
  const current = session.get();
  if (!current?.refreshToken) return Promise.resolve(false);
  refreshing ??= send("POST", "/auth/refresh", { refresh_token: current.refreshToken }, null)
    .then((tokens) => {
      signIn(fromTokens(tokens as Tokens, current.refreshToken));
      return true;
    })
    .catch((error: unknown) => {
      if (error instanceof ApiError && (error.status === 400 || error.status === 401 || error.status === 422)) {
        return false;
      }
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function send(
  method: string,
  path: string,
  body: unknown,
  token: string | null,
  extra: Record<string, string> = {},
): Promise<unknown> {
  const headers: Record<string, string> = { ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Aperture can't be reached. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; session?: string } } | null)?.error;
    const retryAfter = retryAfterSeconds(response.headers.get("Retry-After"));
    if (response.status === 429) {
      // A rate limit (per person) or a throttle (API Gateway's, with no body of ours): the same plain words
      throw new ApiError(429, error?.code ?? "rate_limited", tooOften(retryAfter), "", retryAfter);
    }
    const fallback =
      response.status >= 500
        ? "Something went wrong on Aperture's side. Try again in a moment."
        : `The request failed (${response.status}).`;
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? fallback,
      error?.session ?? "",
      retryAfter,
    );
  }
  return data;
}

/** Retry-After as whole seconds (the API sends seconds; an HTTP date is turned into seconds from now). */
export function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** What a person is told when they hit a rate limit. */
export function tooOften(retryAfter: number | null): string {
  if (retryAfter === null) return "You're doing that too often; try again in a little while.";
  const wait = retryAfter < 120 ? `${Math.max(1, retryAfter)} s` : `${Math.ceil(retryAfter / 60)} min`;
  return `You're doing that too often; try again in ${wait}.`;
}

/** A fresh Idempotency-Key: kept across the retries of one action, so the server does it once. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** Calls the API as the signed-in person (or anonymously with `auth: false`). A 401 signs them out with a reason.
 * `idempotencyKey` makes a retry of the same action answer as the first attempt and create nothing new. */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { auth?: boolean; idempotencyKey?: string } = {},
): Promise<T> {
  const auth = options.auth ?? true;
  const extra: Record<string, string> = options.idempotencyKey ? { "Idempotency-Key": options.idempotencyKey } : {};
  if (!auth) return (await send(method, path, body, null, extra)) as T;
  let current = session.get();
  if (current && current.expiresAt - Date.now() < REFRESH_MARGIN_MS && (await refresh())) current = session.get();
  try {
    return (await send(method, path, body, current?.idToken ?? null, extra)) as T;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (error.code === "account_disabled") {
      // No refresh can help: the account itself is switched off
      signOut(DISABLED);
      throw error;
    }
    if (!(await refresh())) {
      signOut(EXPIRED);
      throw error;
    }
  }
  try {
    return (await send(method, path, body, session.get()?.idToken ?? null, extra)) as T;
  } catch (error) {
    // Refused even with tokens just issued: this session cannot go on.
    if (error instanceof ApiError && error.status === 401) signOut(EXPIRED);
    throw error;
  }
}

/** `?cursor=..&limit=..` for a list route. */
export function paged(path: string, cursor: string | null, limit: number, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ ...extra, limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return `${path}?${query}`;
}

const NOT_EVERYWHERE =
  "You are signed out on this device, but your other sessions could not be ended. Sign in and sign out again to " +
  "end them.";

async function revokeSessions(idToken: string | null): Promise<boolean> {
  return send("POST", "/auth/signout", undefined, idToken).then(
    () => true,
    () => false,
  );
}

/** Signs the person out everywhere: the API revokes every refresh token of the account (on all their devices), then
 * this browser forgets its tokens whatever the answer, and the app shows sign-in (in every tab). */
export async function signOutEverywhere(): Promise<void> {
  const current = session.get();
  let ended = !current || (await revokeSessions(current.idToken));
  // An IdToken that has expired is refused: refresh once, then ask again.
  if (!ended && (await refresh().catch(() => false))) ended = await revokeSessions(session.get()?.idToken ?? null);
  signOut(ended ? "" : NOT_EVERYWHERE);
}
