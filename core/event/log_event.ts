/**
 * The standard log event: one per call, success or failure (schema version 1).
 * Field names follow LiteLLM's StandardLoggingPayload where one exists.
 * This file has no runtime code: sinks and plugins import the type only.
 * @module
 */
import type { LogEventMessages, LogEventResponse } from "./content.ts";

/**
 * What kind of call produced the event. `responses` is an OpenAI Responses
 * API call (`POST /v1/responses`), `messages` an Anthropic Messages API call
 * (`POST /v1/messages`); their `messages` and `response` are in the chat
 * shape (the request as chat messages, the assistant turn as a chat
 * message), so every sink maps them as chat calls.
 */
export type CallType =
  | "chat"
  | "completion"
  | "embedding"
  | "responses"
  | "messages"
  | "gateway_error";

/** The error of a failed call. */
export interface LogEventError {
  /** HTTP status the client received. */
  status: number;
  /** OpenAI error code string, e.g. `model_not_found`. */
  code: string;
  /** Error class, e.g. `UpstreamTimeout`, `RateLimitError`. */
  class: string;
  /** Human-readable message (secrets removed). */
  message: string;
  /** The provider that failed, if an upstream was involved. */
  provider?: string;
}

/** Caller and request metadata. */
export interface LogEventMetadata {
  /** Hex sha256 of the key the client sent (never the key itself). */
  user_api_key_hash?: string;
  /** The virtual key's alias. */
  user_api_key_alias?: string;
  /** The virtual key's team. */
  user_api_key_team?: string;
  /** The virtual key's user. */
  user_api_key_user_id?: string;
  /** The request's `user` field. */
  end_user?: string;
  /** The client's address. */
  requester_ip?: string;
  /** The client's User-Agent. */
  user_agent?: string;
  /** Request tags (`x-sluice-tags`, `metadata.tags`). */
  tags: string[];
  /** Every key of the request's `metadata`, as sent. */
  request: Record<string, unknown>;
}

/** Token counts and cost. */
export interface LogEventCostBreakdown {
  /** USD for input tokens (excluding cached ones). */
  input: number;
  /** USD for output tokens. */
  output: number;
  /** USD for cache reads. */
  cache_read: number;
  /** USD for cache writes. */
  cache_creation: number;
}

/** One call through the gateway, as every sink receives it. */
export interface LogEvent {
  /** Always 1 for this shape. */
  schema_version: 1;
  /** The gateway's own UUID for the call: the de-duplication key. */
  request_id: string;
  /** `x-sluice-call-id`: the client's id if valid, else the request id. */
  call_id: string;
  /** Upstream response id, else the request id. */
  id: string;
  /** W3C trace id, 32 hex. */
  trace_id: string;
  /** This call's span id, 16 hex. */
  span_id: string;
  /** The client's span id from `traceparent`, if any. */
  parent_span_id?: string;
  /** W3C `tracestate`, if sent. */
  trace_state?: string;
  /** W3C `baggage` entries. */
  baggage?: Record<string, string>;
  /** Kind of call. */
  call_type: CallType;
  /** Whether the response was streamed. */
  stream: boolean;
  /** Outcome. */
  status: "success" | "failure";
  /** Upstream model id. */
  model?: string;
  /** The public model name the client sent. */
  model_group?: string;
  /** The deployment's id. */
  model_id?: string;
  /** `openai`, `azure`, `anthropic` or `mock`. */
  provider?: string;
  /** Upstream base URL without query string. */
  api_base?: string;
  /** Request parameters other than messages (temperature, max_tokens, …). */
  model_parameters?: Record<string, unknown>;
  /** Epoch milliseconds when the gateway received the request. */
  start_time: number;
  /** Epoch milliseconds when the call ended. */
  end_time: number;
  /** Epoch milliseconds of the first streamed token, or of the response. */
  completion_start_time?: number;
  /** `end_time - start_time`. */
  response_time_ms: number;
  /**
   * Milliseconds spent waiting on the upstream until its response headers
   * (every attempt), when the call reached one.
   */
  upstream_ms?: number;
  /**
   * Milliseconds the gateway itself took before its response headers left
   * (the `x-sluice-overhead-ms` header: arrival to headers, minus `upstream_ms`).
   */
  gateway_overhead_ms?: number;
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** Sum of both. */
  total_tokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cache_read_input_tokens?: number;
  /** Input tokens written to the provider's prompt cache. */
  cache_creation_input_tokens?: number;
  /** USD, when the price is known. */
  response_cost?: number;
  /** USD by component. */
  cost_breakdown?: LogEventCostBreakdown;
  /** Caller and request metadata. */
  metadata: LogEventMetadata;
  /**
   * The request's chat messages, or the `prompt`/`input` of completions and
   * embeddings, as sent; a string marker where redaction removed it (see
   * {@link LogEventMessages}).
   */
  messages?: LogEventMessages;
  /**
   * The assistant message (an array with several choices), the completion
   * texts, or an embeddings summary; a string marker where redaction removed
   * it (see {@link LogEventResponse}).
   */
  response?: LogEventResponse;
  /** Each choice's `finish_reason` (`stop`, `length`, `tool_calls`, …), when the upstream gave one. */
  finish_reasons?: string[];
  /** The upstream body and headers (credentials removed), only with `metadata.log_raw_request`. */
  raw_request?: { url: string; headers: Record<string, string>; body: unknown };
  /** Present when `status` is `failure`. */
  error?: LogEventError;
  /**
   * For `gateway_error` events: the sink or plugin concerned. `"otlp"` for
   * an event made from a GenAI span an application exported to the
   * gateway's OTLP endpoint (it did not pass through the gateway).
   */
  source?: string;
}
