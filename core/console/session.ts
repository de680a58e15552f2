/**
 * Who may use the console: the master key, or a virtual key marked
 * `admin: true`. A login turns the key into a session cookie (HttpOnly,
 * SameSite=Strict, path `/ui`): a signed token (HMAC-SHA256 over who and
 * the expiry, keyed by a digest of every login key), so it holds in every
 * serving isolate, survives a restart, and ends when the keys change. The
 * JSON API also takes the key itself as a Bearer token. Keys never leave
 * this module: a principal is "master" or a key's alias and hash prefix.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { GatewayConfig } from "../config/types.ts";
import { hashKey, presentedKey } from "../server/auth.ts";
import { randomHex } from "../ids.ts";

/** The cookie that carries a console session. */
export const SESSION_COOKIE = "sluice_console";

/** Who is using the console. */
export interface ConsoleUser {
  /** `master` for the master key, `key` for an admin virtual key, `open` when no key is configured. */
  kind: "master" | "key" | "open";
  /** What the console shows: "master key", the key's alias, or `sha256:` and 12 hex of its hash. */
  name: string;
}

interface LoginKey {
  digest: Buffer;
  user: ConsoleUser;
}

/** Checks console logins, sessions and Bearer keys. */
export class ConsoleAuth {
  readonly #keys: LoginKey[] = [];
  readonly #secret: Buffer;
  readonly #ttlMs: number;
  /** Signatures of sessions ended by a logout (in this isolate, until they expire). */
  readonly #revoked = new Map<string, number>();

  /**
   * @param config The gateway's config: `server.master_key` and the `keys:` marked `admin`.
   * @param ttlMs Lifetime of a session.
   */
  constructor(config: GatewayConfig, ttlMs: number) {
    this.#ttlMs = ttlMs;
    const master = config.server.master_key;
    if (master) {
      this.#keys.push({ digest: digestOf(master), user: { kind: "master", name: "master key" } });
    }
    for (const key of config.keys) {
      if (!key.admin) continue;
      const name = key.alias ?? `sha256:${hashKey(key.key).slice(0, 12)}`;
      this.#keys.push({ digest: digestOf(key.key), user: { kind: "key", name } });
    }
    const keyed = createHash("sha256").update("sluice-console-session\n");
    for (const key of this.#keys) keyed.update(key.digest);
    this.#secret = keyed.digest();
  }

  /** Whether any key may log in (else the console is open, and served to loopback only). */
  get required(): boolean {
    return this.#keys.length > 0;
  }

  /**
   * The user a key logs in as, or undefined for a key that may not. Every
   * login key is compared (constant time), so the time does not tell which.
   */
  userOfKey(key: string): ConsoleUser | undefined {
    const digest = digestOf(key);
    let found: ConsoleUser | undefined;
    for (const candidate of this.#keys) {
      if (timingSafeEqual(candidate.digest, digest)) found ??= candidate.user;
    }
    return found;
  }

  /** A new session token for `user`. */
  issue(user: ConsoleUser, now = Date.now()): string {
    const claims = { k: user.kind, n: user.name, e: now + this.#ttlMs, r: randomHex(8) };
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return `${payload}.${this.#sign(payload)}`;
  }

  #sign(payload: string): string {
    return createHmac("sha256", this.#secret).update(payload).digest("base64url");
  }

  /** The user of a valid, unexpired, not revoked token. */
  verify(token: string, now = Date.now()): ConsoleUser | undefined {
    const dot = token.indexOf(".");
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.#sign(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (this.#revoked.has(token.slice(dot + 1))) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      if (typeof claims.e !== "number" || claims.e <= now) return undefined;
      if (claims.k !== "master" && claims.k !== "key") return undefined;
      return { kind: claims.k, name: String(claims.n) };
    } catch {
      return undefined;
    }
  }

  /** Ends a session (in this isolate; the cookie is cleared too). */
  revoke(token: string, now = Date.now()): void {
    for (const [signature, until] of this.#revoked) {
      if (until <= now) this.#revoked.delete(signature);
    }
    const dot = token.indexOf(".");
    if (dot > 0) this.#revoked.set(token.slice(dot + 1), now + this.#ttlMs);
  }

  /**
   * The user of a request: open when no key is configured; else the session
   * cookie, or (for the JSON API, `bearer`) a login key as a Bearer token.
   */
  userOf(request: Request, bearer: boolean): ConsoleUser | undefined {
    if (!this.required) return { kind: "open", name: "no login (no key configured)" };
    const token = sessionToken(request.headers);
    if (token !== undefined) {
      const user = this.verify(token);
      if (user) return user;
    }
    if (!bearer) return undefined;
    const key = presentedKey(request.headers);
    return key === undefined ? undefined : this.userOfKey(key);
  }
}

function digestOf(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/** The session token of a request's cookie, if any. */
export function sessionToken(headers: Headers): string | undefined {
  const cookie = headers.get("cookie");
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The `Set-Cookie` value of a session (`token` empty: the cookie is cleared). */
export function sessionCookie(token: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${
    secure ? "; Secure" : ""
  }`;
}
