/**
 * SHA-256 of plugin bytes (WebCrypto) and normalisation of `sha256:` pins.
 * @module
 */
import { LoadIssue } from "./errors.ts";

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A `sha256:` pin as 64 lowercase hex digits (a `sha256:` or `sha256-`
 * prefix is accepted); undefined when unset.
 * @throws {LoadIssue} `invalid_config` when it is not 64 hex digits
 */
export function normalizeSha256(pin: string | undefined): string | undefined {
  if (pin === undefined || pin === "") return undefined;
  const hex = pin.trim().replace(/^sha256[:-]/i, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new LoadIssue(
      "invalid_config",
      `sha256 "${pin}" is not a SHA-256 digest`,
      "write the 64 hex digits printed by `sha256sum plugin.js`",
    );
  }
  return hex;
}
