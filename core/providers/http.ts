/**
 * Shared HTTP plumbing for adapters: send JSON, read JSON or a stream back.
 * @module
 */
import type { UpstreamResponse } from "./types.ts";

/** Posts JSON; returns the stream (2xx stream calls) or the parsed body. */
export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  stream: boolean,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  const sent = { url, headers, body };
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
  const retryAfter = res.headers.get("retry-after");
  if (stream && res.ok && res.body) {
    return { status: res.status, stream: res.body, retryAfter, sent };
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
    return {
      status: 502,
      json: { error: { message: `upstream sent a ${res.status} with a body that is not JSON` } },
      retryAfter,
      sent,
    };
  }
  return { status: res.status, json, text: parsed ? text : undefined, retryAfter, sent };
}

/** Joins a base URL and a path with exactly one slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
}
