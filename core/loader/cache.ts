/**
 * The plugin cache (`<dataDir>/plugins/<sha256><ext>`) and the pin check
 * for URL and bucket sources: fetch the bytes, compare their SHA-256 with
 * `sha256:`, store them under their hash, and hand back the file to import.
 * A cached copy whose hash matches the pin is reused when the fetch fails.
 * @module
 */
import { join } from "node:path";
import { errorMessage, LoadIssue } from "./errors.ts";
import { sha256Hex } from "./hash.ts";

/** The plugin cache directory under the data dir. */
export function pluginCacheDir(dataDir: string): string {
  return join(dataDir, "plugins");
}

/** What {@link obtainPinnedFile} needs. */
export interface PinnedFileRequest {
  /** Downloads the bytes (throws a `LoadIssue` on failure). */
  fetchBytes(): Promise<Uint8Array>;
  /** The normalised pin, if any. */
  expected?: string;
  /** `allow_unpinned: true`: load a missing or wrong pin with a warning. */
  allowUnpinned: boolean;
  /** The data dir (the cache is its `plugins/`). */
  dataDir: string;
  /** `.js`, `.mjs` or `.ts`. */
  ext: string;
  /** Logs a warning. */
  warn(message: string): void;
}

/** A verified plugin file in the cache. */
export interface PinnedFile {
  /** Absolute path of the cached file. */
  path: string;
  /** Its SHA-256 (hex). */
  sha256: string;
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(tmp, bytes, { mode: 0o644 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Stores `bytes` as `<dir>/<sha256><ext>` unless an identical file is there. */
async function store(dir: string, sha256: string, ext: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, `${sha256}${ext}`);
  try {
    const existing = await readIfExists(path);
    if (existing && (await sha256Hex(existing)) === sha256) return path;
    await Deno.mkdir(dir, { recursive: true });
    await writeAtomically(path, bytes);
    return path;
  } catch (err) {
    throw new LoadIssue(
      "cache_failed",
      `could not write the plugin cache file ${path}: ${errorMessage(err)}`,
      "check that the data dir is writable (server.data_dir)",
    );
  }
}

/**
 * Fetches, verifies and caches a URL or bucket plugin file.
 * @throws {LoadIssue} `hash_missing`, `hash_mismatch`, `source_fetch_failed`, `cache_failed`
 */
export async function obtainPinnedFile(req: PinnedFileRequest): Promise<PinnedFile> {
  const dir = pluginCacheDir(req.dataDir);
  let bytes: Uint8Array;
  try {
    bytes = await req.fetchBytes();
  } catch (err) {
    if (req.expected) {
      const path = join(dir, `${req.expected}${req.ext}`);
      const cached = await readIfExists(path).catch(() => undefined);
      if (cached && (await sha256Hex(cached)) === req.expected) {
        req.warn(
          `${errorMessage(err)}; using the cached copy ${path} (its sha256 matches the pin)`,
        );
        return { path, sha256: req.expected };
      }
    }
    throw err;
  }
  const actual = await sha256Hex(bytes);
  if (!req.expected) {
    if (!req.allowUnpinned) {
      throw new LoadIssue(
        "hash_missing",
        `no sha256: pin (URL and bucket sources need one); the file fetched now has sha256 ${actual}`,
        `check the file, then add \`sha256: ${actual}\` to this sink, ` +
          "or set `allow_unpinned: true` to load it unpinned (warned at every start)",
      );
    }
    req.warn(
      `loading an unpinned plugin (allow_unpinned: true); its sha256 is ${actual}: ` +
        `pin it with \`sha256: ${actual}\``,
    );
  } else if (req.expected !== actual) {
    if (!req.allowUnpinned) {
      throw new LoadIssue(
        "hash_mismatch",
        `sha256 mismatch: expected ${req.expected}, actual ${actual}`,
        "the file changed or the pin is wrong: check the file, then set " +
          `\`sha256: ${actual}\` if it is the one you want`,
      );
    }
    req.warn(
      `sha256 mismatch: expected ${req.expected}, actual ${actual}; loading it anyway ` +
        "because allow_unpinned: true",
    );
  }
  return { path: await store(dir, actual, req.ext, bytes), sha256: actual };
}
