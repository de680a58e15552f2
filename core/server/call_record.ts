/**
 * What the request thread keeps about a call while it runs, and the
 * hand-off record it becomes when the call ends: only the fields the log
 * event needs, as plain data (no `Headers`, no config objects), so that it
 * crosses to the log Worker in one structured clone.
 * @module
 */
import type { LogEventCostBreakdown, LogEventError } from "../event/log_event.ts";
import type { FinishedCall } from "../log/call.ts";
import type { CallControls } from "../pipeline/controls.ts";
import type { Deployment, ProxyCallType } from "../providers/types.ts";
import type { Usage } from "../stream/accumulator.ts";
import type { Principal } from "./auth.ts";
import type { TraceContext } from "./trace.ts";

/** What the gateway knows about a call while it runs. */
export interface CallRecord {
  /** The gateway's request UUID. */
  requestId: string;
  /** The call id (client's or the request id). */
  callId: string;
  /** Kind of call. */
  callType: ProxyCallType;
  /** Trace context of the call. */
  trace: TraceContext;
  /** Epoch ms at arrival. */
  startTime: number;
  /** Epoch ms at the end. */
  endTime: number;
  /** Epoch ms of the first token. */
  completionStartTime?: number;
  /** Request headers (user agent, tags). */
  headers: Headers;
  /** Client address. */
  requesterIp?: string;
  /** Who called. */
  principal?: Principal;
  /** The client's body bytes, once they parsed as a JSON object. */
  bodyBytes?: Uint8Array;
  /** The public model name the client sent. */
  model?: string;
  /** Streamed response. */
  stream: boolean;
  /** The deployment that served (or failed). */
  deployment?: Deployment;
  /** Upstream response id. */
  responseId?: string;
  /** Upstream response model. */
  responseModel?: string;
  /** Usage in OpenAI's shape. */
  usage?: Usage;
  /** The response content for the event (streams: assembled by the accumulator). */
  response?: unknown;
  /** Each choice's `finish_reason` (streams). */
  finishReasons?: string[];
  /** A non-stream answer, parsed (when its text is not at hand). */
  result?: Record<string, unknown>;
  /** A non-stream answer's JSON text as the upstream sent it. */
  resultText?: string;
  /** Cost, when the price is known. */
  cost?: { total: number; breakdown: LogEventCostBreakdown };
  /** The failure, if any. */
  error?: LogEventError;
  /** What was sent upstream, for `log_raw_request`. */
  sent?: { url: string; headers: Record<string, string>; body: unknown };
}

const TAG_HEADERS = ["x-sluice-tags", "x-litellm-tags"];

/** The hand-off record of a finished call (cheap: it picks fields, it copies no content). */
export function toFinishedCall(r: CallRecord, controls: CallControls | undefined): FinishedCall {
  let tagHeaders: string[] | undefined;
  for (const name of TAG_HEADERS) {
    const value = r.headers.get(name);
    if (value) (tagHeaders ??= []).push(value);
  }
  const key = r.principal?.key;
  const d = r.deployment;
  const call: FinishedCall = {
    requestId: r.requestId,
    callId: r.callId,
    callType: r.callType,
    trace: definedOnly({
      traceId: r.trace.traceId,
      spanId: r.trace.spanId,
      parentSpanId: r.trace.parentSpanId,
      traceState: r.trace.traceState,
      baggage: r.trace.baggage,
    }),
    startTime: r.startTime,
    endTime: r.endTime,
    stream: r.stream,
    completionStartTime: r.completionStartTime,
    userAgent: r.headers.get("user-agent") ?? undefined,
    tagHeaders,
    requesterIp: r.requesterIp,
    caller: r.principal && definedOnly({
      keyHash: r.principal.keyHash,
      alias: key?.alias ?? (r.principal.master ? "master" : undefined),
      team: key?.team,
      user: key?.user,
    }),
    bodyBytes: r.bodyBytes,
    model: r.model,
    deployment: d &&
      { id: d.id, upstreamModel: d.upstreamModel, apiBase: d.apiBase, provider: d.config.provider },
    responseId: r.responseId,
    responseModel: r.responseModel,
    usage: r.usage,
    response: r.response,
    finishReasons: r.finishReasons,
    result: r.resultText === undefined ? r.result : undefined,
    resultText: r.resultText,
    cost: r.cost,
    error: r.error,
    sent: r.sent,
    controls,
  };
  // Every property crosses to the Worker, undefined ones too: leave them out.
  return definedOnly(call);
}

/** `value` without its undefined properties (in place). */
function definedOnly<T extends object>(value: T): T {
  for (const key in value) if (value[key] === undefined) delete value[key];
  return value;
}
