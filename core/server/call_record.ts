/**
 * What the request thread keeps about a call while it runs, and the
 * hand-off record it becomes when the call ends: only the fields the log
 * event needs, as plain data (no `Headers`, no config objects), so that it
 * crosses to the log Worker in one structured clone.
 * @module
 */
import type { FinishedCall, FinishedCallType } from "../log/call.ts";
import type { CallControls } from "../pipeline/controls.ts";
import type { Deployment } from "../providers/types.ts";
import type { Principal } from "./auth.ts";
import type { TraceContext } from "./trace.ts";

/** The fields a running call shares with its hand-off record, as they are. */
type SharedFields =
  | "requestId"
  | "callId"
  | "startTime"
  | "endTime"
  | "completionStartTime"
  | "upstreamMs"
  | "overheadMs"
  | "requesterIp"
  | "bodyBytes"
  | "model"
  | "stream"
  | "responseId"
  | "responseModel"
  | "usage"
  | "response"
  | "finishReasons"
  | "result"
  | "resultText"
  | "cost"
  | "error"
  | "sent";

/**
 * What the gateway knows about a call while it runs: the hand-off record's
 * fields, and the live objects they are taken from when the call ends.
 */
export interface CallRecord extends Pick<FinishedCall, SharedFields> {
  /** Kind of call. */
  callType: FinishedCallType;
  /** Trace context of the call. */
  trace: TraceContext;
  /** Request headers (user agent, tags). */
  headers: Headers;
  /** Who called. */
  principal?: Principal;
  /** The deployment that served (or failed). */
  deployment?: Deployment;
}

/** The headers that carry request tags (Sluice's and LiteLLM's names). */
export const TAG_HEADERS = ["x-sluice-tags", "x-litellm-tags"];

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
    upstreamMs: r.upstreamMs,
    overheadMs: r.overheadMs,
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
