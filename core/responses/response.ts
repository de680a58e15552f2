/**
 * A Chat Completions answer as an OpenAI Responses API `response` object:
 * reasoning, the assistant text and each tool call become `output` items;
 * usage becomes `input_tokens` / `output_tokens` with their details; a
 * `length` finish makes the response `incomplete`. The streamed and the
 * non-streamed answer share {@link buildResponse}.
 * @module
 */
import type { Usage } from "../stream/accumulator.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** One assistant turn, assembled from a chat answer or from its stream. */
export interface AssembledTurn {
  /** Reasoning text (`reasoning_content`), if the upstream sent any. */
  reasoning?: string;
  /** The assistant text. */
  text?: string;
  /** Tool calls, in order. */
  toolCalls: { id: string; name: string; arguments: string }[];
  /** The chat finish reason. */
  finishReason?: string;
  /** Chat usage. */
  usage?: Usage;
  /** The upstream's model id. */
  model?: string;
}

/** Ids and request echoes of one response. */
export interface ResponseFrame {
  /** `resp_…`; item ids derive from it. */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model as the client named it. */
  model: string;
  /** The client's Responses request. */
  request: Obj;
}

/** `msg_…`, `fc_…`, `rs_…` ids of one response's items. */
export function itemId(frame: ResponseFrame, kind: "msg" | "fc" | "rs", index = 0): string {
  return `${kind}_${frame.id.slice(5)}${index ? `_${index}` : ""}`;
}

/** Responses usage from chat usage. */
export function responsesUsage(usage: Usage | undefined): Obj {
  const input = usage?.prompt_tokens ?? 0;
  const output = usage?.completion_tokens ?? 0;
  const details = (usage as { completion_tokens_details?: { reasoning_tokens?: number } })
    ?.completion_tokens_details;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: details?.reasoning_tokens ?? 0 },
    total_tokens: usage?.total_tokens ?? input + output,
  };
}

/** The `reasoning` output item. */
export function reasoningItem(frame: ResponseFrame, text: string): Obj {
  return {
    type: "reasoning",
    id: itemId(frame, "rs"),
    summary: text ? [{ type: "summary_text", text }] : [],
  };
}

/** The assistant `message` output item. */
export function messageItem(frame: ResponseFrame, text: string, status = "completed"): Obj {
  return {
    type: "message",
    id: itemId(frame, "msg"),
    status,
    role: "assistant",
    content: status === "completed"
      ? [{ type: "output_text", text, annotations: [], logprobs: [] }]
      : [],
  };
}

/** A `function_call` output item. */
export function functionCallItem(
  frame: ResponseFrame,
  call: AssembledTurn["toolCalls"][number],
  index: number,
  status = "completed",
): Obj {
  return {
    type: "function_call",
    id: itemId(frame, "fc", index),
    call_id: call.id,
    name: call.name,
    arguments: status === "completed" ? call.arguments : "",
    status,
  };
}

function incompleteReason(finish: string | undefined): string | undefined {
  if (finish === "length") return "max_output_tokens";
  if (finish === "content_filter") return "content_filter";
  return undefined;
}

/** The `response` object; `status` `in_progress` (no output yet) while a stream starts. */
export function buildResponse(
  frame: ResponseFrame,
  turn: AssembledTurn | undefined,
  status?: "in_progress",
): Obj {
  const body = frame.request;
  const output: Obj[] = [];
  if (turn && !status) {
    if (turn.reasoning) output.push(reasoningItem(frame, turn.reasoning));
    if (turn.text || turn.toolCalls.length === 0) output.push(messageItem(frame, turn.text ?? ""));
    turn.toolCalls.forEach((call, i) => output.push(functionCallItem(frame, call, i)));
  }
  const incomplete = incompleteReason(turn?.finishReason);
  const format = isObj(body.text) && isObj(body.text.format) ? body.text.format : { type: "text" };
  return {
    id: frame.id,
    object: "response",
    created_at: frame.createdAt,
    status: status ?? (incomplete ? "incomplete" : "completed"),
    background: false,
    error: null,
    incomplete_details: incomplete && !status ? { reason: incomplete } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: isObj(body.metadata) ? body.metadata : {},
    model: frame.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: {
      effort: isObj(body.reasoning) ? body.reasoning.effort ?? null : null,
      summary: null,
    },
    store: false,
    temperature: body.temperature ?? 1,
    text: { format },
    tool_choice: body.tool_choice ?? "auto",
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: status ? null : responsesUsage(turn?.usage),
    user: body.user ?? null,
  };
}

/** The assistant turn of a non-streamed chat completion (its first choice). */
export function turnOfChat(chat: Obj): AssembledTurn {
  const choice = Array.isArray(chat.choices) && isObj(chat.choices[0]) ? chat.choices[0] : {};
  const message = isObj(choice.message) ? choice.message : {};
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  return {
    reasoning: typeof message.reasoning_content === "string"
      ? message.reasoning_content
      : undefined,
    text: typeof message.content === "string"
      ? message.content
      : typeof message.refusal === "string"
      ? message.refusal
      : undefined,
    toolCalls: calls.filter(isObj).map((c) => {
      const fn = isObj(c.function) ? c.function : {};
      return {
        id: String(c.id ?? ""),
        name: String(fn.name ?? ""),
        arguments: String(fn.arguments ?? ""),
      };
    }),
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : undefined,
    usage: isObj(chat.usage) ? chat.usage as Usage : undefined,
    model: typeof chat.model === "string" ? chat.model : undefined,
  };
}

/**
 * A Responses API `response` (from an upstream that speaks it) as a chat
 * completion, for the log: output text, reasoning summaries and function
 * calls as the assistant message, usage in chat terms.
 */
export function chatOfResponse(response: Obj): Obj {
  let text = "";
  let reasoning = "";
  const calls: Obj[] = [];
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isObj(item)) continue;
    if (item.type === "message" && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (isObj(part) && typeof part.text === "string") text += part.text;
        else if (isObj(part) && typeof part.refusal === "string") text += part.refusal;
      }
    } else if (item.type === "reasoning" && Array.isArray(item.summary)) {
      for (const s of item.summary) if (isObj(s) && typeof s.text === "string") reasoning += s.text;
    } else if (item.type === "function_call") {
      calls.push({
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: item.arguments },
      });
    }
  }
  const message: Obj = { role: "assistant", content: text || null };
  if (reasoning) message.reasoning_content = reasoning;
  if (calls.length) message.tool_calls = calls;
  const incomplete = isObj(response.incomplete_details) ? response.incomplete_details.reason : null;
  const finish = incomplete === "max_output_tokens"
    ? "length"
    : incomplete === "content_filter"
    ? "content_filter"
    : calls.length
    ? "tool_calls"
    : "stop";
  const usage = isObj(response.usage) ? response.usage : {};
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const inputDetails = isObj(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const outputDetails = isObj(usage.output_tokens_details) ? usage.output_tokens_details : {};
  return {
    id: response.id,
    object: "chat.completion",
    model: response.model,
    choices: [{ index: 0, message, finish_reason: finish }],
    usage: {
      prompt_tokens: num(usage.input_tokens),
      completion_tokens: num(usage.output_tokens),
      total_tokens: num(usage.total_tokens) || num(usage.input_tokens) + num(usage.output_tokens),
      prompt_tokens_details: { cached_tokens: num(inputDetails.cached_tokens) },
      completion_tokens_details: { reasoning_tokens: num(outputDetails.reasoning_tokens) },
    },
  };
}
