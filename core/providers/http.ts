/**
 * Shared HTTP plumbing for adapters: send JSON, read JSON or a stream back.
 *
 * An `api_base` may carry credentials: a query (`?key=…`) stays the request's
 * query, after the path; user info (`http://user:pass@host`) is taken out of
 * the URL and sent as `Authorization: Basic …`, unless the request already
 * has an auth header (`authorization`, `api-key`, `x-api-key`), which then
 * wins and the user info is dropped. What is recorded as sent (events'
 * `raw_request.url`) is the URL without user info or query.
 * @module
 */
import { Buffer } from "node:buffer";
import { displayUrl } from "../sink_http.ts";
import type { UpstreamResponse } from "./types.ts";

const AUTH_HEADERS = new Set(["authorization", "api-key", "x-api-key"]);

/** Moves a URL's user info into a Basic `authorization` header (when none is set). */
export function userinfoToAuth(
  url: string,
  headers: Record<string, string>,
): { url: string; headers: Record<string, string> } {
  if (!/^[^/?#]*\/\/[^/?#]*@/.test(url)) return { url, headers };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, headers };
  }
  const credentials = `${decodeURIComponent(parsed.username)}:${
    decodeURIComponent(parsed.password)
  }`;
  parsed.username = "";
  parsed.password = "";
  if (Object.keys(headers).some((k) => AUTH_HEADERS.has(k.toLowerCase()))) {
    return { url: parsed.href, headers };
  }
  const basic = Buffer.from(credentials, "utf8").toString("base64");
  return { url: parsed.href, headers: { ...headers, authorization: `Basic ${basic}` } };
}

/**
 * Posts JSON (`bytes`, when given, are `body` already encoded and are sent
 * as they are); returns the stream (2xx stream calls) or the parsed body.
 */
export async function postJson(
  target: string,
  extraHeaders: Record<string, string>,
  body: unknown,
  stream: boolean,
  signal: AbortSignal,
  bytes?: Uint8Array<ArrayBuffer>,
): Promise<UpstreamResponse> {
  const { url, headers } = userinfoToAuth(target, extraHeaders);
  const sent = { url: displayUrl(url), headers, body };
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: bytes ?? JSON.stringify(body),
    signal,
  });
  const retryAfter = res.headers.get("retry-after");
  if (stream && res.ok && res.body) {
    const type = res.headers.get("content-type") ?? "";
    if (/^\s*text\/event-stream\s*(;|$)/i.test(type)) {
      return { status: res.status, stream: res.body, retryAfter, sent };
    }
    // A 2xx that is not a stream (an HTML page, even a whole JSON completion) cannot be
    // relayed as one: a 502 before any byte is sent, never retried (it may have been billed).
    await res.body.cancel().catch(() => {});
    const got = type ? type.split(";")[0].trim().slice(0, 100) : "no content type";
    return {
      status: 502,
      json: {
        error: {
          message: `upstream answered a stream request with ${got}, not text/event-stream`,
          code: "upstream_invalid_response",
        },
      },
      final: true,
      retryAfter,
      sent,
    };
  }
  const text = await res.text();
  let json: unknown;
  let parsed = false;
  try {
    json = text ? JSON.parse(text) : undefined;
    parsed = json !== undefined;
  } catch {
    json = res.ok ? undefined : { error: { message: text.slice(0, 2000) } };
  }
  if (res.ok && json === undefined) {
    // The upstream answered (and may have billed the call): a 502, never retried.
    return {
      status: 502,
      json: {
        error: {
          message: `upstream sent a ${res.status} with a body that is not JSON`,
          code: "upstream_invalid_response",
        },
      },
      final: true,
      retryAfter,
      sent,
    };
  }
  return { status: res.status, json, text: parsed ? text : undefined, retryAfter, sent };
}

/**
 * Joins a base URL and a path with exactly one slash; the base's query stays
 * a query, after the path (`…/v1?key=k` + `chat/completions` →
 * `…/v1/chat/completions?key=k`). A fragment is dropped.
 */
export function joinUrl(base: string, path: string): string {
  const cut = base.search(/[?#]/);
  const head = cut < 0 ? base : base.slice(0, cut);
  const query = cut < 0 ? "" : base.slice(cut).replace(/#.*$/, "");
  return head.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "") + (query === "?" ? "" : query);
}

/** Adds `name=value` to a URL's query (after an existing one with `&`). */
export function withQueryParam(url: string, name: string, value: string): string {
  const param = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  return url + (url.includes("?") ? "&" : "?") + param;
}

/** The path part of a URL (no query or fragment), for checks on its shape. */
export function pathPartOf(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : url.slice(0, cut);
}
