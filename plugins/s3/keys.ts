/**
 * Object keys: `[path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json`
 * for one event, `…/YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson` for a
 * batch. Times are the call's start in UTC. Keys over S3's 1,024-byte limit
 * are shortened deterministically with a hash, keeping their beginning.
 * @module
 */
import { createHash } from "node:crypto";
import type { LogEvent } from "@sluice/core/plugin";

/** S3's limit on the UTF-8 length of an object key. */
export const MAX_KEY_BYTES = 1024;

/** What goes into a key besides the time and id. */
export interface KeyOptions {
  /** The configured `path` prefix (slashes trimmed and collapsed here). */
  path?: string;
  /** Add the event's `metadata.user_api_key_team` as a segment. */
  useTeamPrefix?: boolean;
  /** Add the event's `metadata.user_api_key_alias` as a segment. */
  useKeyPrefix?: boolean;
}

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut at a code point. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** Hex SHA-256 of a string. */
function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Makes a value (a team, a key alias, a request id) safe as one key segment:
 * characters outside S3's safe set (letters, digits, `! - _ . * ' ( )`)
 * become `_`, and an empty, `.` or `..` segment becomes underscores.
 *
 * @param value The raw value.
 * @returns The segment.
 *
 * @example
 * ```ts
 * import { sanitizeSegment } from "@sluice/s3";
 * sanitizeSegment("team a/b"); // "team_a_b"
 * sanitizeSegment(".."); // "__"
 * ```
 */
export function sanitizeSegment(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9!_.*'()-]/gu, "_");
  if (safe === "") return "_";
  return /^\.+$/.test(safe) ? "_".repeat(safe.length) : safe;
}

/** The `path` option as a prefix: `a//b/` → `a/b/`, empty → ``. */
export function normalizePath(path: string | undefined): string {
  const segments = (path ?? "").split("/").filter((s) => s !== "" && s !== ".");
  return segments.length ? `${segments.join("/")}/` : "";
}

/** The event's start time in epoch ms (else its end time, else 0), for keys. */
function startOf(event: LogEvent): number {
  for (const t of [event.start_time, event.end_time]) {
    if (typeof t === "number" && Number.isFinite(t) && t >= 0) return t;
  }
  return 0;
}

/** UTC parts of an epoch-ms time: `YYYY-MM-DD`, `HH` and `HH-MM-SS-micro` (6 digits). */
export function timeParts(epochMs: number): { date: string; hour: string; time: string } {
  const micros = Math.round(epochMs * 1000);
  const d = new Date(Math.floor(micros / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${String(d.getUTCFullYear()).padStart(4, "0")}-${two(d.getUTCMonth() + 1)}-${
    two(d.getUTCDate())
  }`;
  const hour = two(d.getUTCHours());
  const micro = String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0");
  return {
    date,
    hour,
    time: `${hour}-${two(d.getUTCMinutes())}-${two(d.getUTCSeconds())}-${micro}`,
  };
}

/** `[path/][team/][key_alias/]` for an event. */
export function keyPrefix(event: LogEvent, options: KeyOptions): string {
  let prefix = normalizePath(options.path);
  const meta = event.metadata ?? {};
  if (options.useTeamPrefix && meta.user_api_key_team) {
    prefix += `${sanitizeSegment(meta.user_api_key_team)}/`;
  }
  if (options.useKeyPrefix && meta.user_api_key_alias) {
    prefix += `${sanitizeSegment(meta.user_api_key_alias)}/`;
  }
  return prefix;
}

/**
 * Joins a key from its prefix, date directory and file name, shortening it
 * when over {@link MAX_KEY_BYTES}: the name keeps its time, a 64-byte cut of
 * its id and gains `~<16 hex of sha256(full key)>` before the extension;
 * if still too long, the prefix is cut and ends in `~/`. Deterministic: the
 * same full key always gives the same short key.
 *
 * @param prefix `[path/][team/][key_alias/]`.
 * @param dir The date directory, e.g. `2025-01-31/` or `2025-01-31/14/`.
 * @param time `HH-MM-SS-micro`.
 * @param id The request or batch id (a safe segment).
 * @param ext `.json` or `.ndjson`.
 * @returns A key of at most 1,024 UTF-8 bytes.
 */
export function joinKey(
  prefix: string,
  dir: string,
  time: string,
  id: string,
  ext: string,
): string {
  const full = `${prefix}${dir}${time}_${id}${ext}`;
  if (byteLength(full) <= MAX_KEY_BYTES) return full;
  const hash = sha256Hex(full).slice(0, 16);
  const name = `${time}_${truncateUtf8(id, 64)}~${hash}${ext}`;
  const budget = MAX_KEY_BYTES - byteLength(dir) - byteLength(name);
  const head = byteLength(prefix) <= budget ? prefix : `${truncateUtf8(prefix, budget - 2)}~/`;
  return `${head}${dir}${name}`;
}

/**
 * The key of one event's object:
 * `[path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json`,
 * from the call's start time in UTC.
 *
 * @param event The event.
 * @param options Prefix options.
 * @returns The key (at most 1,024 bytes).
 *
 * @example
 * ```ts
 * import { eventObjectKey } from "@sluice/s3";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent({
 *   request_id: "0b6f1c1e-5d0c-4d8e-9a55-1a2b3c4d5e6f",
 *   start_time: Date.UTC(2025, 0, 31, 14, 5, 9, 123),
 * });
 * eventObjectKey(event, { path: "logs", useTeamPrefix: true });
 * // "logs/team-a/2025-01-31/14-05-09-123000_0b6f1c1e-5d0c-4d8e-9a55-1a2b3c4d5e6f.json"
 * ```
 */
export function eventObjectKey(event: LogEvent, options: KeyOptions = {}): string {
  const { date, time } = timeParts(startOf(event));
  const id = sanitizeSegment(String(event.request_id ?? ""));
  return joinKey(keyPrefix(event, options), `${date}/`, time, id, ".json");
}

/** Events that share one NDJSON object. */
export interface EventGroup {
  /** The object key. */
  key: string;
  /** The events, in batch order. */
  events: LogEvent[];
}

/**
 * Groups a batch into NDJSON objects: one per prefix, day and hour (of each
 * call's start, UTC), keyed
 * `[path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson`
 * where the time is the group's earliest start and the batch id is 16 hex
 * of the SHA-256 of its request ids, so a retried batch writes the same key.
 *
 * @param events The batch.
 * @param options Prefix options.
 * @returns The groups, in order of first appearance.
 *
 * @example
 * ```ts
 * import { ndjsonGroups } from "@sluice/s3";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const [group] = ndjsonGroups(sampleEvents(3, { start_time: Date.UTC(2025, 0, 31, 14) }));
 * group.key; // "2025-01-31/14/14-00-00-000000_<16 hex>.ndjson"
 * ```
 */
export function ndjsonGroups(events: readonly LogEvent[], options: KeyOptions = {}): EventGroup[] {
  const groups = new Map<string, { prefix: string; dir: string; events: LogEvent[] }>();
  for (const event of events) {
    const { date, hour } = timeParts(startOf(event));
    const prefix = keyPrefix(event, options);
    const dir = `${date}/${hour}/`;
    const id = prefix + dir;
    let group = groups.get(id);
    if (!group) groups.set(id, group = { prefix, dir, events: [] });
    group.events.push(event);
  }
  return [...groups.values()].map(({ prefix, dir, events }) => {
    const first = events.reduce((min, e) => Math.min(min, startOf(e)), Infinity);
    const batchId = sha256Hex(events.map((e) => String(e.request_id)).join("\n")).slice(0, 16);
    return { key: joinKey(prefix, dir, timeParts(first).time, batchId, ".ndjson"), events };
  });
}

/**
 * A key as a URL path: each segment percent-encoded (RFC 3986, so `!*'()`
 * too), the slashes kept. This is also the SigV4 canonical form S3 expects.
 *
 * @param key An object key.
 * @returns The encoded path (no leading slash).
 */
export function encodeKey(key: string): string {
  return key.split("/").map((segment) =>
    encodeURIComponent(segment).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    )
  ).join("/");
}
