/**
 * Keyed pseudonyms: `HMAC-SHA256(secret, kind + ":" + value)`, first 8 hex
 * digits, computed with WebCrypto. The same secret gives the same tag for the
 * same value in every event, so masked logs can still be joined on it.
 * @module
 */
import type { Detection, DetectorName, PseudonymFn } from "./types.ts";

const encoder = new TextEncoder();

/** Imported HMAC keys by secret: a gateway has one or two secrets, used for every event. */
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(secret, key);
  }
  return key;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Computes the pseudonym tag of each item: the first 8 lowercase hex digits
 * of `HMAC-SHA256(secret, kind + ":" + value)`, both strings UTF-8 encoded.
 *
 * @example
 * ```ts
 * import { pseudonymTags } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = await pseudonymTags("s3cret", [
 *   { kind: "EMAIL", value: "ana@example.com" },
 *   { kind: "EMAIL", value: "ana@example.com" },
 * ]);
 * assert.match(a, /^[0-9a-f]{8}$/);
 * assert.equal(a, b);
 * ```
 * @param secret The pseudonym key (`pseudonym_secret` in the config); must not be empty.
 * @param items The detections to tag.
 * @returns One tag per item, in the same order.
 * @throws {RangeError} When `secret` is empty.
 */
export async function pseudonymTags(
  secret: string,
  items: readonly Detection[],
): Promise<string[]> {
  if (secret.length === 0) {
    throw new RangeError("pseudonym secret is empty; set pseudonym_secret or leave it out");
  }
  const key = await hmacKey(secret);
  return await Promise.all(items.map(async ({ kind, value }) => {
    const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${kind}:${value}`));
    return hex(new Uint8Array(mac, 0, 4));
  }));
}

/**
 * Tags every item once and returns the synchronous callback that
 * `MaskOptions.pseudonym` expects: the second step of the two-phase use
 * (find detections, compute tags with WebCrypto, then replace).
 *
 * @example
 * ```ts
 * import { pseudonymLookup } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const lookup = await pseudonymLookup("s3cret", [{ kind: "IPV4", value: "10.0.0.7" }]);
 * assert.match(lookup("IPV4", "10.0.0.7"), /^[0-9a-f]{8}$/);
 * assert.throws(() => lookup("IPV4", "10.0.0.8"));
 * ```
 * @param secret The pseudonym key; must not be empty.
 * @param items Every detection the callback will be asked about.
 * @returns A callback from `(kind, value)` to its tag; it throws for a pair it was not given.
 * @throws {RangeError} When `secret` is empty.
 */
export async function pseudonymLookup(
  secret: string,
  items: readonly Detection[],
): Promise<PseudonymFn> {
  const tags = await pseudonymTags(secret, items);
  const byId = new Map<string, string>();
  items.forEach(({ kind, value }, i) => byId.set(`${kind}:${value}`, tags[i]));
  return (kind: DetectorName, value: string): string => {
    const tag = byId.get(`${kind}:${value}`);
    if (tag === undefined) {
      throw new RangeError(
        `no pseudonym for this ${kind} value; pass every detection to pseudonymLookup first`,
      );
    }
    return tag;
  };
}
