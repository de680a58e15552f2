/**
 * Downloads a plugin file from an `https://` (or loopback `http://`) URL,
 * with a timeout and the gateway's abort signal. The URL is never imported
 * directly: the bytes go through the hash check and the plugin cache.
 * @module
 */
import { errorMessage, LoadIssue } from "./errors.ts";
import { displaySource } from "./source.ts";

/** How long a plugin download may take by default. */
export const DEFAULT_SOURCE_TIMEOUT_MS = 30_000;

/** The largest plugin file accepted (a single-file bundle). */
export const MAX_PLUGIN_BYTES = 64 * 1024 * 1024;

/**
 * Runs `fn` with a signal that aborts on `signal` or after `timeoutMs`;
 * the timer is cleared when `fn` settles.
 */
export async function withTimeout<T>(
  signal: AbortSignal,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timer = new AbortController();
  const id = setTimeout(
    () => timer.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs,
  );
  try {
    return await fn(AbortSignal.any([signal, timer.signal]));
  } finally {
    clearTimeout(id);
  }
}

/** The reason a fetch failed, in words (timeouts and aborts named as such). */
export function fetchFailure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof DOMException && reason.name === "TimeoutError") return reason.message;
    return "aborted (the gateway is shutting down)";
  }
  return errorMessage(err);
}

/** Reads a response body into bytes, refusing bodies over {@link MAX_PLUGIN_BYTES}. */
export async function readBody(res: Response): Promise<Uint8Array> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.byteLength > MAX_PLUGIN_BYTES) {
    throw new Error(`the file is ${bytes.byteLength} bytes, over the ${MAX_PLUGIN_BYTES} limit`);
  }
  return bytes;
}

/**
 * GETs `url` and returns its bytes.
 * @throws {LoadIssue} `source_fetch_failed` on a network error, timeout or non-2xx status
 */
export function fetchUrlBytes(
  url: URL,
  signal: AbortSignal,
  timeoutMs: number = DEFAULT_SOURCE_TIMEOUT_MS,
): Promise<Uint8Array> {
  const shown = displaySource(url.href);
  return withTimeout(signal, timeoutMs, async (combined) => {
    let res: Response;
    try {
      res = await fetch(url, { signal: combined, redirect: "follow" });
    } catch (err) {
      throw new LoadIssue(
        "source_fetch_failed",
        `GET ${shown} failed: ${fetchFailure(err, combined)}`,
        "check that the URL is reachable from the gateway",
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LoadIssue(
        "source_fetch_failed",
        `GET ${shown} answered ${res.status} ${res.statusText}`.trimEnd(),
        res.status === 404 ? "check the URL" : "check the URL and the server's access rules",
      );
    }
    try {
      return await readBody(res);
    } catch (err) {
      throw new LoadIssue(
        "source_fetch_failed",
        `reading ${shown} failed: ${fetchFailure(err, combined)}`,
      );
    }
  });
}
