/**
 * The hand-off record: what the request thread knows about a finished call,
 * as plain data that crosses to the log Worker in one structured clone.
 * Nothing here is a class, a `Headers` or a config object: the request
 * thread picks the few fields the event needs, and the log side builds the
 * event from them.
 * @module
 */
import type { CallControls } from "../pipeline/controls.ts";
import type { LogEventCostBreakdown, LogEventError } from "../event/log_event.ts";
import type { LogEventResponse } from "../event/content.ts";
import type { Usage } from "../stream/accumulator.ts";

/** A call kind the gateway serves (the route the client called). */
export type FinishedCallType = "chat" | "completion" | "embedding" | "responses" | "messages";

/** The W3C trace context of a call, as the event records it. */
export interface CallTrace {
  /** 32 hex. */
  traceId: string;
  /** This call's span, 16 hex. */
  spanId: string;
  /** The client's span from `traceparent`. */
  parentSpanId?: string;
  /** `tracestate`, passed through. */
  traceState?: string;
  /** Parsed `baggage`. */
  baggage?: Record<string, string>;
}

/** Who called, without the key itself. */
export interface CallCaller {
  /** Hex sha256 of the presented key. */
  keyHash?: string;
  /** The virtual key's alias (`master` for the master key). */
  alias?: string;
  /** The key's team. */
  team?: string;
  /** The key's user. */
  user?: string;
}

/** The deployment that served (or failed) a call. */
export interface CallDeployment {
  /** The models entry's id. */
  id: string;
  /** The model id sent upstream. */
  upstreamModel: string;
  /** The base URL as shown (no user info or query). */
  apiBase: string;
  /** `openai`, `azure`, `anthropic`, `mock`. */
  provider: string;
}

/** Everything the log event of one call is built from. */
export interface FinishedCall {
  /** The gateway's request UUID. */
  requestId: string;
  /** The call id (the client's or the request id). */
  callId: string;
  /** Kind of call. */
  callType: FinishedCallType;
  /** Trace context. */
  trace: CallTrace;
  /** Epoch ms at arrival. */
  startTime: number;
  /** Epoch ms at the end. */
  endTime: number;
  /** Epoch ms of the first token. */
  completionStartTime?: number;
  /** Milliseconds spent waiting on the upstream until its response headers (all attempts). */
  upstreamMs?: number;
  /** Milliseconds the gateway itself took before its response headers left (`x-sluice-overhead-ms`). */
  overheadMs?: number;
  /** The `user-agent` header. */
  userAgent?: string;
  /** The raw `x-sluice-tags` / `x-litellm-tags` header values. */
  tagHeaders?: string[];
  /** Client address. */
  requesterIp?: string;
  /** Who called. */
  caller?: CallCaller;
  /** The client's body, parsed (in-thread) ... */
  body?: Record<string, unknown>;
  /** ... or its UTF-8 JSON bytes, parsed on the log side (what crosses to the Worker). */
  bodyBytes?: Uint8Array;
  /** The public model name the client sent (the event's `model_group`). */
  model?: string;
  /** Streamed response. */
  stream: boolean;
  /** The deployment that served (or failed). */
  deployment?: CallDeployment;
  /** Upstream response id. */
  responseId?: string;
  /** Upstream response model. */
  responseModel?: string;
  /** Usage in OpenAI's shape. */
  usage?: Usage;
  /** The response content (streams: assembled by the accumulator). */
  response?: LogEventResponse;
  /** Each choice's `finish_reason` (streams). */
  finishReasons?: string[];
  /** A non-stream answer, parsed: `response` and `finish_reasons` are read from it ... */
  result?: Record<string, unknown>;
  /** ... or its JSON text, parsed on the log side. */
  resultText?: string;
  /** Cost, when the price is known. */
  cost?: { total: number; breakdown: LogEventCostBreakdown };
  /** The failure, if any. */
  error?: LogEventError;
  /** What was sent upstream, for `metadata.log_raw_request`. */
  sent?: { url: string; headers: Record<string, string>; body: unknown };
  /** The call's logging controls (default: none). */
  controls?: CallControls;
}
