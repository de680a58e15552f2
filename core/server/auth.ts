/**
 * Authentication against the master key and static virtual keys. Keys are
 * looked up by their sha256 and confirmed with a constant-time compare; only
 * the hex digest ever leaves this module.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayConfig, KeyConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";

/** Who is calling. */
export interface Principal {
  /** Hex sha256 of the presented key, if any. */
  keyHash?: string;
  /** The virtual key's config, if a virtual key was used. */
  key?: KeyConfig;
  /** Whether the master key was used. */
  master: boolean;
}

/** Hex sha256 of a key: the only form of a key that appears in logs. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The key a request presents: `Authorization: Bearer`, `api-key` or `x-api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get("authorization");
  if (auth) return auth.replace(/^Bearer\s+/i, "").trim() || undefined;
  return headers.get("api-key") ?? headers.get("x-api-key") ?? undefined;
}

/** Checks requests against the configured keys. */
export class KeyStore {
  readonly #byHash = new Map<string, { digest: Buffer; key?: KeyConfig }>();
  readonly #required: boolean;

  /** Indexes the master key and `keys:` by digest. */
  constructor(config: GatewayConfig) {
    if (config.server.master_key) {
      this.#byHash.set(hashKey(config.server.master_key), {
        digest: createHash("sha256").update(config.server.master_key).digest(),
      });
    }
    for (const key of config.keys) {
      this.#byHash.set(hashKey(key.key), {
        digest: createHash("sha256").update(key.key).digest(),
        key,
      });
    }
    this.#required = this.#byHash.size > 0;
  }

  /** Identifies the caller; throws a 401 {@link GatewayError} for a missing or unknown key. */
  authenticate(headers: Headers): Principal {
    const presented = presentedKey(headers);
    if (presented === undefined) {
      if (!this.#required) return { master: false };
      throw new GatewayError(
        401,
        "authentication_error",
        "missing_api_key",
        "No API key provided. Send it as 'Authorization: Bearer <key>'.",
      );
    }
    const digest = createHash("sha256").update(presented).digest();
    const keyHash = digest.toString("hex");
    if (!this.#required) return { keyHash, master: false };
    const entry = this.#byHash.get(keyHash);
    if (!entry || !timingSafeEqual(entry.digest, digest)) {
      throw new GatewayError(401, "authentication_error", "invalid_api_key", "Invalid API key.");
    }
    return { keyHash, key: entry.key, master: entry.key === undefined };
  }
}
