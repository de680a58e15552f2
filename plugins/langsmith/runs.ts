/**
 * From a Sluice log event to a LangSmith run ({@link toLangSmithRun}): one
 * `llm` run per call, its id, trace and dotted order from the call's ids.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";

/** LangSmith's token usage, as its SDKs report it in `outputs.usage_metadata`. */
export interface LangSmithUsage {
  /** Prompt tokens. */
  input_tokens: number;
  /** Completion tokens. */
  output_tokens: number;
  /** Both. */
  total_tokens: number;
  /** Cached prompt tokens, when known. */
  input_token_details?: { cache_read?: number; cache_creation?: number };
  /** USD of the prompt, when the gateway knows the price. */
  input_cost?: number;
  /** USD of the completion, when known. */
  output_cost?: number;
  /** USD of the call, when known. */
  total_cost?: number;
}

/** One run of `POST /runs/batch`'s `post` array. */
export interface LangSmithRun {
  /** The run's UUID: the gateway's `request_id` (a retried batch upserts the same runs). */
  id: string;
  /** The trace's UUID: the run's own id (it is the trace's root), or the client's `trace_id`. */
  trace_id: string;
  /** `<start, microseconds>Z<id>`, below the client's parent run's dotted order when given. */
  dotted_order: string;
  /** The client's parent run, when the request's metadata named one. */
  parent_run_id?: string;
  /** The run's name. */
  name: string;
  /** Always `llm` (`embedding` calls too, LangSmith's kind for model calls). */
  run_type: "llm";
  /** The project. */
  session_name: string;
  /** Start, ISO 8601 with microseconds (the dotted order's time). */
  start_time: string;
  /** End, ISO 8601. */
  end_time: string;
  /** `messages` (chat) or `prompt`/`input`, with the request's parameters. */
  inputs: Record<string, unknown>;
  /** `choices` (chat) or `output`, with `usage_metadata`; absent for failures. */
  outputs?: Record<string, unknown>;
  /** A failed call's error. */
  error?: string;
  /** `metadata` (model, provider, ids, key and request metadata) and `invocation_params`. */
  extra: {
    metadata: Record<string, unknown>;
    invocation_params: Record<string, unknown>;
  };
  /** Tags: the sink's and the request's. */
  tags: string[];
  /** `new_token` at the first token of a stream. */
  events?: { name: string; time: string }[];
}

/** What {@link toLangSmithRun} needs besides the event. */
export interface LangSmithRunOptions {
  /** The project. */
  project: string;
  /** The run name, if the sink sets one. */
  runName?: string;
  /** Tags on every run. */
  tags: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An ISO time with microseconds (`2026-12-01T09:30:12.345000Z`), as LangSmith's SDKs send it. */
function microIso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

/**
 * The dotted-order segment of a run: its start time in UTC with
 * microseconds, `Z`, and its id (`20261201T093012345000Z<uuid>`).
 *
 * @param startMs The run's start in epoch milliseconds.
 * @param id The run's UUID.
 * @returns The segment.
 *
 * @example
 * ```ts
 * import { dottedOrderSegment } from "@sluice/langsmith";
 * dottedOrderSegment(Date.UTC(2026, 11, 1, 9, 30, 12, 345), "0b9a3f6e-6f0c-4a43-9d7e-5f3c1b2a8e11");
 * // "20261201T093012345000Z0b9a3f6e-6f0c-4a43-9d7e-5f3c1b2a8e11"
 * ```
 */
export function dottedOrderSegment(startMs: number, id: string): string {
  return `${microIso(startMs).replace(/[-:.]/g, "")}${id}`;
}

/** Where the client asked the run to go: under its parent run, when the metadata names one fully. */
function clientParent(
  request: Record<string, unknown>,
): { traceId: string; parentId: string; dottedOrder: string } | undefined {
  const {
    trace_id: traceId,
    parent_run_id: parentId,
    dotted_order: dottedOrder,
  } = request;
  if (
    typeof traceId === "string" && UUID.test(traceId) &&
    typeof parentId === "string" &&
    UUID.test(parentId) && typeof dottedOrder === "string" &&
    dottedOrder.endsWith(parentId) && /^\d{8}T\d{12}Z/.test(dottedOrder)
  ) return { traceId, parentId, dottedOrder };
  return undefined;
}

/**
 * The LangSmith run of one call: `run_type: llm`, id the gateway's
 * `request_id` (a batch sent again upserts the same runs), the root of its
 * own trace unless the request's metadata names a LangSmith parent run
 * (`trace_id`, `parent_run_id` and `dotted_order` together, as a
 * LangChain caller has them), inputs and outputs in OpenAI's chat shape as
 * the event carries them (LangSmith shows them as messages), token usage
 * and cost in `outputs.usage_metadata`, model and provider in
 * `extra.metadata` (`ls_model_name`, `ls_provider`), the W3C trace and
 * span ids in `extra.metadata` so the run can be joined with the call's
 * OpenTelemetry span.
 *
 * @param event The (redacted) log event.
 * @param options Project, run name and tags.
 * @returns The run.
 *
 * @example
 * ```ts
 * import { toLangSmithRun } from "@sluice/langsmith";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent();
 * const run = toLangSmithRun(event, { project: "default", tags: [] });
 * run.id === event.request_id && run.trace_id === run.id; // true
 * run.outputs?.usage_metadata; // { input_tokens, output_tokens, total_tokens, … }
 * ```
 */
export function toLangSmithRun(
  event: LogEvent,
  options: LangSmithRunOptions,
): LangSmithRun {
  const meta = event.metadata ?? { tags: [], request: {} };
  const request = meta.request ?? {};
  const chat = isChatCall(event);
  const id = event.request_id;
  const parent = clientParent(request);
  const segment = dottedOrderSegment(event.start_time, id);
  const params = event.model_parameters ?? {};
  const inputs: Record<string, unknown> = { ...params };
  if (chat) inputs.messages = event.messages;
  else if (event.call_type === "embedding") inputs.input = event.messages;
  else inputs.prompt = event.messages;
  if (event.model_group) inputs.model = event.model_group;

  const metadata: Record<string, unknown> = {
    ...request,
    ls_provider: event.provider,
    ls_model_name: event.model ?? event.model_group,
    ls_model_type: chat ? "chat" : event.call_type === "embedding" ? "embedding" : "llm",
    ls_temperature: params.temperature,
    ls_max_tokens: params.max_tokens ?? params.max_completion_tokens ??
      params.max_output_tokens,
    model_group: event.model_group,
    model_id: event.model_id,
    call_type: event.call_type,
    stream: event.stream,
    request_id: event.request_id,
    call_id: event.call_id,
    otel_trace_id: event.trace_id,
    otel_span_id: event.span_id,
    user_api_key_hash: meta.user_api_key_hash,
    user_api_key_alias: meta.user_api_key_alias,
    user_api_key_team: meta.user_api_key_team,
    user_api_key_user_id: meta.user_api_key_user_id,
    end_user: meta.end_user,
    response_cost: event.response_cost,
  };
  for (const key of ["trace_id", "parent_run_id", "dotted_order"]) {
    delete metadata[key];
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) delete metadata[key];
  }

  const run: LangSmithRun = {
    id,
    trace_id: parent?.traceId ?? id,
    dotted_order: parent ? `${parent.dottedOrder}.${segment}` : segment,
    name: (typeof request.run_name === "string" && request.run_name) ||
      options.runName ||
      event.model_group || event.model || event.call_type,
    run_type: "llm",
    session_name: options.project,
    start_time: microIso(event.start_time),
    end_time: new Date(event.end_time).toISOString(),
    inputs,
    extra: { metadata, invocation_params: { ...params, model: event.model } },
    tags: [...new Set([...options.tags, ...(meta.tags ?? [])])],
  };
  if (parent) run.parent_run_id = parent.parentId;
  if (event.status === "success") {
    const usage: LangSmithUsage = {
      input_tokens: event.prompt_tokens ?? 0,
      output_tokens: event.completion_tokens ?? 0,
      total_tokens: event.total_tokens ?? 0,
    };
    if (event.cache_read_input_tokens || event.cache_creation_input_tokens) {
      usage.input_token_details = {};
      if (event.cache_read_input_tokens) {
        usage.input_token_details.cache_read = event.cache_read_input_tokens;
      }
      if (event.cache_creation_input_tokens) {
        usage.input_token_details.cache_creation = event.cache_creation_input_tokens;
      }
    }
    if (
      typeof event.response_cost === "number" &&
      Number.isFinite(event.response_cost)
    ) {
      if (event.cost_breakdown) {
        usage.input_cost = event.cost_breakdown.input +
          event.cost_breakdown.cache_read +
          event.cost_breakdown.cache_creation;
        usage.output_cost = event.cost_breakdown.output;
      }
      usage.total_cost = event.response_cost;
    }
    const outputs: Record<string, unknown> = { usage_metadata: usage };
    if (chat && event.response && typeof event.response === "object") {
      const messages = Array.isArray(event.response) ? event.response : [event.response];
      outputs.choices = messages.map((message, index) => ({
        index,
        message,
        finish_reason: event.finish_reasons?.[index],
      }));
    } else if (event.response !== undefined) outputs.output = event.response;
    run.outputs = outputs;
  } else {
    run.error = event.error
      ? `${event.error.class} (${event.error.status} ${event.error.code}): ${event.error.message}`
      : "failed";
  }
  if (event.stream && event.completion_start_time !== undefined) {
    run.events = [{
      name: "new_token",
      time: new Date(event.completion_start_time).toISOString(),
    }];
  }
  return run;
}
