/**
 * The one credential scrubber for everything that leaves the gateway: error
 * bodies and headers sent to clients, log lines, loader and config messages,
 * events and the spool. Two layers, both turning what they find into
 * `[SECRET]`:
 *
 * - the config's secret values (whatever came from the environment or sits
 *   under a secret-like key), replaced wherever they occur;
 * - credential patterns for values the config does not know: the SECRET
 *   detector of `@sluice/redact` (`Bearer …`, `sk-…`, JWTs, …), values of
 *   credential-named fields (`api-key: …`, `"password":"…"`, `?key=…`), and
 *   URLs' user info and query strings.
 * @module
 */
import { type MaskOptions, maskText } from "@sluice/redact";
import { displayUrl } from "../sink_http.ts";
import {
  isSecretName,
  MIN_SECRET_LENGTH,
  orderSecrets,
  replaceSecrets,
  SECRET,
} from "./secrets.ts";

export { isSecretName, maskSecrets, MIN_SECRET_LENGTH, orderSecrets, SECRET } from "./secrets.ts";

/** Nesting deeper than this is not walked: such a subtree is replaced whole. */
const MAX_DEPTH = 32;

/**
 * `value` with every credential-named field's value replaced by `[SECRET]`, at
 * any depth (the same object when nothing changed; never mutated).
 */
export function withoutCredentials(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const w = withoutCredentials(v, depth + 1);
      if (w !== v) changed = true;
      return w;
    });
    return changed ? out : value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const w = isSecretName(k) && v !== null && v !== "" ? SECRET : withoutCredentials(v, depth + 1);
    if (w !== v) (out ??= { ...value as Record<string, unknown> })[k] = w;
  }
  return out ?? value;
}

/**
 * Replaces every secret value (as it appears inside JSON strings) with
 * `[SECRET]` in a JSON text. `secrets` come from `orderSecrets`, so one
 * that contains another is replaced whole.
 */
export function scrubSecrets(json: string, secrets: readonly string[]): string {
  let out = json;
  for (const secret of secrets) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (out.includes(escaped)) out = out.replaceAll(escaped, SECRET);
  }
  return out;
}

const SECRET_DETECTOR: MaskOptions = {
  detectors: ["SECRET"],
  stripBase64: false,
  base64MinLength: 256,
};
/** A URL with user info, a query or a fragment (the parts {@link displayUrl} drops). */
const URL_WITH_EXTRAS =
  /\b[a-z][a-z0-9+.-]*:\/\/(?:[^\s/?#@"'<>()\\]*@[^\s"'<>()\\]*|[^\s?#"'<>()\\]*[?#][^\s"'<>()\\]*)/gi;
const CREDENTIAL_FIELDS = [
  "(?:x-)?api[-_]?key",
  "(?:access|refresh|auth)[-_]?token",
  "client[-_]?secret",
  "secret[-_]?key",
  "passw(?:or)?d",
  "token",
  "key",
  "sig(?:nature)?",
];
/** `name: value`, `name=value`, `"name":"value"` for credential-like names (values ≥ 6 long). */
const NAMED_VALUE = new RegExp(
  `\\b(${CREDENTIAL_FIELDS.join("|")})(["']?\\s*[:=]\\s*["']?)` +
    `(?!(?:Bearer|Basic)\\s)([^\\s"',;&()[\\]{}]{6,})`,
  "gi",
);
/** A bearer or basic credential of any shape (the detector wants ≥ 16 characters). */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{6,})/g;

/** Credential patterns in a text become `[SECRET]`; URLs lose user info and query. */
export function scrubCredentials(text: string): string {
  if (text.length < MIN_SECRET_LENGTH) return text;
  const out = text
    .replace(URL_WITH_EXTRAS, (url) => {
      const shown = displayUrl(url);
      return shown === "<invalid url>" ? SECRET : shown;
    })
    .replace(AUTH_SCHEME, (_, scheme) => `${scheme} ${SECRET}`)
    .replace(NAMED_VALUE, (_, name, sep) => `${name}${sep}${SECRET}`);
  return maskText(out, SECRET_DETECTOR);
}

/** Scrubs what leaves: secret values and credential patterns, in texts and JSON values. */
export interface Scrubber {
  /** A text with secret values and credential patterns replaced. */
  text(text: string): string;
  /** A JSON value, copied, with every string (keys too) and credential-named field scrubbed. */
  value(value: unknown): unknown;
  /** Header values scrubbed (a new object). */
  headers(headers: Record<string, string>): Record<string, string>;
}

/** A {@link Scrubber} for these secret values (e.g. `configSecrets(config)`). */
export function createScrubber(secrets: Iterable<string>): Scrubber {
  const ordered = orderSecrets(secrets);
  const text = (s: string): string => scrubCredentials(replaceSecrets(s, ordered));
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return text(v);
    if (v === null || typeof v !== "object") return v;
    if (depth > MAX_DEPTH) return SECRET; // not looked at, so not let out
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    // fromEntries: a "__proto__" key stays an own property.
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        text(k),
        isSecretName(k) && x !== null && x !== "" ? SECRET : walk(x, depth + 1),
      ]),
    );
  };
  return {
    text,
    value: (v) => walk(v, 0),
    headers: (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, text(v)])),
  };
}
