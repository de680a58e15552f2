/**
 * What every upstream adapter implements: turn an OpenAI-shaped request into
 * an upstream call, and the upstream's answer back into OpenAI's shape.
 * @module
 */
import type { ModelConfig } from "../config/types.ts";

/** A call kind the proxy routes. */
export type ProxyCallType = "chat" | "completion" | "embedding" | "responses" | "messages";

/** One `models:` entry ready to serve. */
export interface Deployment {
  /** The config entry. */
  config: ModelConfig;
  /** The entry's id (configured, or a short hash). */
  id: string;
  /** The model id sent upstream. */
  upstreamModel: string;
  /** The base URL shown in headers, messages and events (no user info, query or fragment). */
  apiBase: string;
}

/** An OpenAI-shaped request, ready for an adapter. */
export interface UpstreamRequest {
  /** Kind of call. */
  callType: ProxyCallType;
  /** Request body, gateway-only fields removed, `model` not yet replaced. */
  body: Record<string, unknown>;
  /**
   * The client's body bytes, when `body` is exactly their parse (nothing was
   * removed): an adapter that would send `body` unchanged sends these bytes
   * instead of encoding it again.
   */
  bytes?: Uint8Array<ArrayBuffer>;
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
  /** `Retry-After` from the upstream: passed on to the client, and honoured between retries. */
  retryAfter?: string | null;
  /**
   * The answer is final even though it is a 5xx: never retried (a 2xx whose
   * body could not be read: the upstream may have billed the call).
   */
  final?: boolean;
  /** What was sent, for `metadata.log_raw_request`: the URL without user info or query, headers, body. */
  sent: { url: string; headers: Record<string, string>; body: unknown };
}

/** An upstream adapter. */
export interface Provider {
  /** Sends one request; throws on connection failure or abort. */
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse>;
}
