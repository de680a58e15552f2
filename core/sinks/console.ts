/**
 * The console sink: one line per call (time, model, status, tokens, ms, cost).
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";
import type { Sink } from "./types.ts";

/** Formats one event as a console line. */
export function formatConsoleLine(e: LogEvent): string {
  const time = new Date(e.start_time).toISOString();
  const model = e.model_group ?? e.model ?? "-";
  const outcome = e.status === "success"
    ? "ok"
    : `error ${e.error?.status ?? ""} ${e.error?.code ?? ""}`.trim();
  const tokens = e.call_type === "gateway_error"
    ? ""
    : ` ${e.prompt_tokens}+${e.completion_tokens} tok`;
  const cost = e.response_cost !== undefined ? ` $${e.response_cost.toFixed(6)}` : "";
  const stream = e.stream ? " stream" : "";
  return `${time} ${e.call_type}${stream} ${model} ${outcome}${tokens} ${
    e.response_time_ms.toFixed(1)
  } ms${cost} call=${e.call_id}`;
}

/** Creates a console sink writing to `out` (default: stdout). */
export function createConsoleSink(
  out: { write(p: Uint8Array): Promise<number> } = Deno.stdout,
): Sink {
  const encoder = new TextEncoder();
  return {
    async log(events) {
      const bytes = encoder.encode(events.map(formatConsoleLine).join("\n") + "\n");
      for (let n = 0; n < bytes.length;) n += await out.write(bytes.subarray(n));
    },
  };
}
