/**
 * The console line of one event.
 * @module
 */
import type { LogEvent } from "@sluice/core/plugin";

/**
 * Formats one event as a single console line: start time (ISO, UTC), call
 * type, `stream` when streamed, model group, outcome (`ok`, or `error
 * <status> <code>`), tokens in+out, duration, cost in USD with 6 decimals
 * (when known) and the call id. A `gateway_error` event shows its `source`
 * and error message instead of model, tokens and cost.
 *
 * @param event The event.
 * @returns The line, without a trailing newline.
 *
 * @example
 * ```ts
 * import { formatConsoleLine } from "@sluice/console";
 * import { sampleEvent } from "@sluice/core/testing";
 * console.log(formatConsoleLine(sampleEvent()));
 * // 2025-06-01T12:00:00.000Z chat gpt-4o-mini ok 23+45 tok 412.0 ms $0.000030 call=…
 * ```
 */
export function formatConsoleLine(event: LogEvent): string {
  const time = new Date(event.start_time).toISOString();
  const status = event.status === "success"
    ? "ok"
    : `error ${event.error?.status ?? "-"} ${event.error?.code ?? "-"}`;
  if (event.call_type === "gateway_error") {
    const message = JSON.stringify(event.error?.message ?? "");
    return `${time} gateway_error source=${
      event.source ?? "-"
    } ${status} ${message} call=${event.call_id}`;
  }
  const stream = event.stream ? " stream" : "";
  const model = event.model_group ?? event.model ?? "-";
  const tokens = `${event.prompt_tokens}+${event.completion_tokens} tok`;
  const ms = `${event.response_time_ms.toFixed(1)} ms`;
  const cost = event.response_cost === undefined ? "" : ` $${event.response_cost.toFixed(6)}`;
  return `${time} ${event.call_type}${stream} ${model} ${status} ${tokens} ${ms}${cost} call=${event.call_id}`;
}
