/**
 * What every upstream adapter implements: turn an OpenAI-shaped request into
 * an upstream call, and the upstream's answer back into OpenAI's shape.
 * @module
 */
import type { ModelConfig } from "../config/types.ts";

/** A call kind the proxy routes. */
export type ProxyCallType = "chat" | "completion" | "embedding";

/** One `models:` entry ready to serve. */
export interface Deployment {
  /** The config entry. */
  config: ModelConfig;
  /** The entry's id (configured, or a short hash). */
  id: string;
  /** The model id sent upstream. */
  upstreamModel: string;
  /** The base URL shown in headers and events (no query string). */
  apiBase: string;
}

/** An OpenAI-shaped request, ready for an adapter. */
export interface UpstreamRequest {
  /** Kind of call. */
  callType: ProxyCallType;
  /** Request body, gateway-only fields removed, `model` not yet replaced. */
  body: Record<string, unknown>;
  /** Whether the client asked for a stream. */
  stream: boolean;
  /** Headers to add upstream (e.g. `traceparent`). */
  headers: Record<string, string>;
  /** Aborts on client disconnect or timeout. */
  signal: AbortSignal;
}

/** The upstream's answer in OpenAI's shape. */
export interface UpstreamResponse {
  /** HTTP status from the upstream (2xx, or a 4xx/5xx to map). */
  status: number;
  /** Non-stream (and error) body, parsed. */
  json?: unknown;
  /** The upstream's body text, when `json` is exactly its parse (sent to the client as is). */
  text?: string;
  /** Stream body: OpenAI-style SSE bytes. */
  stream?: ReadableStream<Uint8Array>;
  /** `Retry-After` from the upstream, passed through on 429. */
  retryAfter?: string | null;
  /** The exact URL and body sent, for `metadata.log_raw_request`. */
  sent: { url: string; headers: Record<string, string>; body: unknown };
}

/** An upstream adapter. */
export interface Provider {
  /** Sends one request; throws on connection failure or abort. */
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse>;
}
