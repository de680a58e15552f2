/**
 * Authentication against the master key and static virtual keys, and access
 * to the operator endpoints (`/metrics`, readiness details) with the master
 * key or `server.metrics_key`. Keys are looked up by their sha256 and
 * confirmed with a constant-time compare; only the hex digest ever leaves
 * this module. A key's `models:` may hold wildcards (`openai/*`, `*`):
 * {@link keyAllowsModel} is the one access check.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayConfig, KeyConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import { allowListAdmits } from "../providers/model_pattern.ts";

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

/**
 * The key a request presents: `Authorization: Bearer`, `x-sluice-api-key`,
 * `api-key`, `x-api-key` or Portkey's `x-portkey-api-key`.
 */
export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get("authorization");
  if (auth) return auth.replace(/^Bearer\s+/i, "").trim() || undefined;
  return headers.get("x-sluice-api-key") ?? headers.get("api-key") ?? headers.get("x-api-key") ??
    headers.get("x-portkey-api-key") ?? undefined;
}

function missingKey(): GatewayError {
  return new GatewayError(
    401,
    "authentication_error",
    "missing_api_key",
    "No API key provided. Send it as 'Authorization: Bearer <key>'.",
  );
}

function invalidKey(): GatewayError {
  return new GatewayError(401, "authentication_error", "invalid_api_key", "Invalid API key.");
}

/**
 * Whether a key may use the public model `name`: every model without a
 * `models:` list, else a name its list names or one of its wildcards
 * matches (a key allowed `openai/*` may call `openai/gpt-4o`).
 */
export function keyAllowsModel(key: KeyConfig | undefined, name: string): boolean {
  return !key?.models || allowListAdmits(key.models, name);
}

/** Checks requests against the configured keys. */
export class KeyStore {
  readonly #byHash = new Map<string, { digest: Buffer; key?: KeyConfig }>();
  readonly #required: boolean;
  /** Digests of the keys that may read operator endpoints (master key, metrics key). */
  readonly #operators: Buffer[] = [];

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
    for (const key of [config.server.master_key, config.server.metrics_key]) {
      if (key) this.#operators.push(createHash("sha256").update(key).digest());
    }
  }

  /** Whether any key is configured, so operator endpoints are closed to anonymous callers. */
  get operatorProtected(): boolean {
    return this.#required || this.#operators.length > 0;
  }

  /**
   * Allows a read of `/metrics` or readiness details: anyone when no key is
   * configured, else only the master key or `server.metrics_key` (as a
   * Bearer token, as Prometheus sends it). Throws a 401 {@link GatewayError}
   * for a missing or unknown key, a 403 for a virtual key.
   */
  authorizeOperator(headers: Headers): void {
    if (!this.operatorProtected) return;
    const presented = presentedKey(headers);
    if (presented !== undefined) {
      const digest = createHash("sha256").update(presented).digest();
      // Compare against every operator key, so the time does not tell which one matched.
      let match = false;
      for (const operator of this.#operators) match = timingSafeEqual(operator, digest) || match;
      if (match) return;
      if (this.#byHash.has(digest.toString("hex"))) {
        throw new GatewayError(
          403,
          "permission_error",
          "operator_key_required",
          "This endpoint needs the master key or server.metrics_key.",
        );
      }
    }
    throw presented === undefined ? missingKey() : invalidKey();
  }

  /** Identifies the caller; throws a 401 {@link GatewayError} for a missing or unknown key. */
  authenticate(headers: Headers): Principal {
    const presented = presentedKey(headers);
    if (presented === undefined) {
      if (!this.#required) return { master: false };
      throw missingKey();
    }
    const digest = createHash("sha256").update(presented).digest();
    const keyHash = digest.toString("hex");
    if (!this.#required) return { keyHash, master: false };
    const entry = this.#byHash.get(keyHash);
    if (!entry || !timingSafeEqual(entry.digest, digest)) throw invalidKey();
    return { keyHash, key: entry.key, master: entry.key === undefined };
  }
}
