/**
 * Realistic log events for pipeline tests.
 * @module
 */
import type { LogEvent } from "../../core/plugin.ts";

/** A success event whose ids derive from `n`. */
export function sampleEvent(n: number): LogEvent {
  const now = Date.now();
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return {
    schema_version: 1,
    request_id: id,
    call_id: id,
    id: `chatcmpl-${n}`,
    trace_id: n.toString(16).padStart(32, "0"),
    span_id: n.toString(16).padStart(16, "0"),
    call_type: "chat",
    stream: false,
    status: "success",
    model: "gpt-4o-mini",
    model_group: "gpt-4o-mini",
    provider: "openai",
    start_time: now - 120,
    end_time: now,
    response_time_ms: 120,
    prompt_tokens: 12,
    completion_tokens: 30,
    total_tokens: 42,
    response_cost: 0.0000198,
    metadata: { tags: [], request: {} },
    messages: [{ role: "user", content: `question ${n}` }],
    response: { role: "assistant", content: `answer ${n}` },
  };
}
