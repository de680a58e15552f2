/**
 * From a Sluice log event to Lunary run events ({@link toLunaryEvents}):
 * a `start` and an `end` (or `error`) event per call, with the call's
 * `request_id` as the run id.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";
import { isChatCall } from "@sluice/core/plugin";

/** One event of `POST /v1/runs/ingest`. */
export interface LunaryEvent {
  /** `llm` (chat and completion calls) or `embed`. */
  type: "llm" | "embed";
  /** `start`, then `end` or `error`. */
  event: "start" | "end" | "error";
  /** The run: the gateway's `request_id`. */
  runId: string;
  /** A Lunary parent run the request's metadata named (`parent_run_id`). */
  parentRunId?: string;
  /** When the call started (`start`) or ended (`end`, `error`), ISO 8601. */
  timestamp: string;
  /** `start`: the model (Lunary prices the run by it). */
  name?: string;
  /** `start`: the request's messages (or prompt, or embeddings input) as the event carries them. */
  input?: unknown;
  /** `end`: the answer as the event carries it. */
  output?: unknown;
  /** `start`: tags (the sink's and the request's). */
  tags?: string[];
  /** `start`: the end user (the request's `user`), else the key's user. */
  userId?: string;
  /** `start`: the key's alias and team. */
  userProps?: Record<string, string>;
  /** `start`: the request's parameters. */
  params?: Record<string, unknown>;
  /** `start`: ids, model group, provider, cost, the request's metadata. */
  metadata?: Record<string, unknown>;
  /** `start`: the request's `metadata.template_id`. */
  templateId?: string;
  /** `start`: what produced the event. */
  runtime?: string;
  /** `end`: prompt and completion tokens. */
  tokensUsage?: { prompt: number; completion: number };
  /** `error`: what failed. */
  error?: { message: string; stack?: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

/**
 * The Lunary events of one call: `start` (at the call's start: model,
 * input, user, tags, parameters, metadata) and `end` (output, prompt and
 * completion tokens) or, for a failed call, `error`, both under the run id
 * `request_id`. Input and output are as the event carries them (the
 * sink's redaction policy applied).
 *
 * @param event The (redacted) log event.
 * @param options Tags on every run and the runtime name.
 * @returns Two events.
 *
 * @example
 * ```ts
 * import { toLunaryEvents } from "@sluice/lunary";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const [start, end] = toLunaryEvents(sampleEvent(), { tags: [], runtime: "sluice" });
 * start.event; // "start"
 * end.tokensUsage; // { prompt: …, completion: … }
 * ```
 */
export function toLunaryEvents(
  event: LogEvent,
  options: { tags: readonly string[]; runtime: string },
): [LunaryEvent, LunaryEvent] {
  const meta = event.metadata ?? { tags: [], request: {} };
  const request = meta.request ?? {};
  const type = event.call_type === "embedding" ? "embed" : "llm";
  const userProps: Record<string, string> = {};
  if (meta.user_api_key_alias) userProps.key_alias = meta.user_api_key_alias;
  if (meta.user_api_key_team) userProps.team = meta.user_api_key_team;
  const metadata: Record<string, unknown> = {
    ...request,
    request_id: event.request_id,
    call_id: event.call_id,
    call_type: event.call_type,
    model_group: event.model_group,
    provider: event.provider,
    stream: event.stream,
    response_cost: event.response_cost,
    trace_id: event.trace_id,
    span_id: event.span_id,
    user_api_key_hash: meta.user_api_key_hash,
  };
  for (const key of ["parent_run_id", "template_id", "tags"]) delete metadata[key];
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) delete metadata[key];
  }
  const start: LunaryEvent = {
    type,
    event: "start",
    runId: event.request_id,
    timestamp: new Date(event.start_time).toISOString(),
    name: event.model ?? event.model_group ?? event.call_type,
    input: event.messages,
    tags: [...new Set([...options.tags, ...(meta.tags ?? [])])],
    params: { ...event.model_parameters },
    metadata,
    runtime: options.runtime,
  };
  const parent = text(request.parent_run_id);
  if (parent && UUID.test(parent)) start.parentRunId = parent;
  const user = text(meta.end_user) ?? text(meta.user_api_key_user_id);
  if (user) start.userId = user;
  if (Object.keys(userProps).length > 0) start.userProps = userProps;
  const template = text(request.template_id);
  if (template) start.templateId = template;
  const timestamp = new Date(event.end_time).toISOString();
  if (event.status === "success") {
    return [start, {
      type,
      event: "end",
      runId: event.request_id,
      timestamp,
      output: isChatCall(event) && Array.isArray(event.response) && event.response.length === 1
        ? event.response[0]
        : event.response,
      tokensUsage: { prompt: event.prompt_tokens ?? 0, completion: event.completion_tokens ?? 0 },
    }];
  }
  const error = event.error;
  return [start, {
    type,
    event: "error",
    runId: event.request_id,
    timestamp,
    error: {
      message: error
        ? `${error.class} (${error.status} ${error.code}): ${error.message}`
        : "failed",
    },
  }];
}
