/**
 * What the mock upstream says: the deterministic text of an answer, and for
 * chat the decision between text and a tool call (`tools`, `tool_choice`,
 * legacy `functions`), the answer after a tool result, `n` choices and the
 * JSON of `response_format`. The wire shapes (JSON and SSE) are built in
 * `mock.ts` from the {@linkcode MockChoice}s made here.
 * @module
 */
import { instanceOf } from "./mock_instance.ts";

/** A function call the mock answers with. */
export interface MockToolCall {
  /** Stable id, derived from the request (same request, same id). */
  id: string;
  /** The function's name, one the request declared. */
  name: string;
  /** The arguments: a JSON object valid against the function's `parameters` (see `mock_instance.ts`). */
  arguments: string;
}

/** One choice of a mock chat answer. */
export interface MockChoice {
  /** The assistant text, or null when the choice is a call. */
  content: string | null;
  /** The call, when the choice is one. */
  call?: MockToolCall;
  /** `tool_calls`, `function_call` (legacy `functions`) or `stop`. */
  finishReason: "stop" | "tool_calls" | "function_call";
}

/** A request the mock refuses, as `[param, message]` (answered with an OpenAI-shaped 400). */
export type MockRefusal = [string, string];

type Json = Record<string, unknown>;

/** A function the request declares (`tools[].function` or legacy `functions[]`). */
interface DeclaredFunction {
  name: string;
  parameters: unknown;
}

/** How the request lets the mock call: not at all, if the prompt asks, or it must (one named, or any). */
type CallMode = { kind: "none" } | { kind: "auto" } | { kind: "required"; name?: string };

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A 32-bit FNV-1a hash: the seed of deterministic embeddings and call ids. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The text of a message's content: a string, or its parts' texts joined by spaces. */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === "object" && "text" in p ? String(p.text) : ""))
      .join(" ");
  }
  return "";
}

/** The text of the last `user` message (or the prompt itself, for completions). */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return textOf(messages);
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") return textOf(messages[i].content);
  }
  return "";
}

/** `text` cut to 120 characters. */
const quote = (text: string) => text.length > 120 ? text.slice(0, 117) + "..." : text;

/** The deterministic mock answer for a prompt. */
export function mockAnswer(lastUserText: string): string {
  return `This is Sluice's mock model. You said: "${quote(lastUserText)}". ` +
    "Configure a real upstream in gateway.yaml to get real answers.";
}

/**
 * The choices of a chat answer: `n` of them (index order), each a text or a
 * call, or the refusal of a `tool_choice` naming an undeclared function.
 *
 * @param body The request body (validated by the gateway: `messages` is an array).
 * @returns The choices, or `[param, message]` for a 400.
 */
export function chatChoices(body: Json): MockChoice[] | MockRefusal {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const legacy = !Array.isArray(body.tools) && Array.isArray(body.functions);
  const functions = declaredFunctions(body, legacy);
  const mode = callMode(legacy ? body.function_call : body.tool_choice);
  if (mode.kind === "required" && mode.name !== undefined) {
    if (!functions.some((f) => f.name === mode.name)) {
      const param = legacy ? "function_call" : "tool_choice";
      return [param, `'${param}' names '${mode.name}', which is not among the declared functions.`];
    }
  }
  const results = trailingResults(messages);
  const target = callTarget(functions, mode, lastUserText(messages), results.length > 0);
  const text = results.length
    ? resultAnswer(results, messages)
    : mockAnswer(lastUserText(messages));
  return Array.from({ length: choiceCount(body) }, (_, index): MockChoice => {
    if (target) {
      const call = toolCall(target, messages, index);
      return { content: null, call, finishReason: legacy ? "function_call" : "tool_calls" };
    }
    const variant = index === 0 ? text : `Alternative ${index}: ${text}`;
    return { content: formatted(variant, body.response_format), finishReason: "stop" };
  });
}

/**
 * The texts of a legacy completion answer, one per choice (`n`).
 *
 * @param body The request body.
 * @returns `n` texts, index order.
 */
export function completionTexts(body: Json): string[] {
  const text = mockAnswer(lastUserText(body.prompt));
  return Array.from(
    { length: choiceCount(body) },
    (_, index) => index === 0 ? text : `Alternative ${index}: ${text}`,
  );
}

/** `n`, already checked to be 1…128 when present. */
const choiceCount = (body: Json) => typeof body.n === "number" ? body.n : 1;

function declaredFunctions(body: Json, legacy: boolean): DeclaredFunction[] {
  const entries = legacy
    ? body.functions as unknown[]
    : Array.isArray(body.tools)
    ? body.tools.map((t) => isRecord(t) && (t.type ?? "function") === "function" && t.function)
    : [];
  return entries.flatMap((f) =>
    isRecord(f) && typeof f.name === "string" ? [{ name: f.name, parameters: f.parameters }] : []
  );
}

function callMode(choice: unknown): CallMode {
  if (choice === "none") return { kind: "none" };
  if (choice === "required") return { kind: "required" };
  if (isRecord(choice)) {
    const named = isRecord(choice.function) ? choice.function.name : choice.name;
    if (typeof named === "string") return { kind: "required", name: named };
  }
  return { kind: "auto" };
}

/**
 * The function to call, if any: the forced one; else, unless a tool result
 * answers the last user message, the one the last user message names.
 * With `required` and no name in the prompt, the first declared.
 */
function callTarget(
  functions: DeclaredFunction[],
  mode: CallMode,
  prompt: string,
  afterResult: boolean,
): DeclaredFunction | undefined {
  if (mode.kind === "none" || !functions.length) return undefined;
  if (mode.kind === "required" && mode.name !== undefined) {
    return functions.find((f) => f.name === mode.name);
  }
  const named = afterResult ? undefined : namedIn(prompt, functions);
  return named ?? (mode.kind === "required" ? functions[0] : undefined);
}

/** The function whose name occurs first in `text` as a whole word (the longer name on a tie). */
function namedIn(text: string, functions: DeclaredFunction[]): DeclaredFunction | undefined {
  let best: DeclaredFunction | undefined;
  let bestAt = Infinity;
  for (const f of functions) {
    const at = wordIndex(text, f.name);
    if (at < bestAt || (at === bestAt && at !== Infinity && f.name.length > best!.name.length)) {
      best = f;
      bestAt = at;
    }
  }
  return best;
}

/** Where `word` first occurs in `text` not inside a longer identifier, or Infinity. */
function wordIndex(text: string, word: string): number {
  const isPart = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_-]/.test(c);
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    if (!isPart(text[at - 1]) && !isPart(text[at + word.length])) return at;
  }
  return Infinity;
}

function toolCall(target: DeclaredFunction, messages: unknown[], index: number): MockToolCall {
  const seed = `${JSON.stringify(messages)}\u0000${target.name}\u0000${index}`;
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const args = instanceOf(target.parameters ?? { type: "object" });
  return {
    id: `call_${hex(fnv1a(seed))}${hex(fnv1a(seed + "\u0001"))}`,
    name: target.name,
    arguments: JSON.stringify(isRecord(args) ? args : {}),
  };
}

/** The `tool` (or legacy `function`) messages that end the conversation, in order. */
function trailingResults(messages: unknown[]): Json[] {
  let start = messages.length;
  while (start > 0) {
    const m = messages[start - 1];
    if (!isRecord(m) || (m.role !== "tool" && m.role !== "function")) break;
    start--;
  }
  return messages.slice(start) as Json[];
}

/** The answer after tool results: each result named by its function and quoted. */
function resultAnswer(results: Json[], messages: unknown[]): string {
  const parts = results.map((r) => {
    const name = typeof r.name === "string" ? r.name : calledName(messages, r.tool_call_id);
    return `${name ?? "the tool"} returned "${quote(textOf(r.content))}"`;
  });
  return `This is Sluice's mock model. ${parts.join("; ")}.`;
}

/** The function name of the assistant's call with id `id`, if the conversation holds it. */
function calledName(messages: unknown[], id: unknown): string | undefined {
  for (const m of messages) {
    if (!isRecord(m) || !Array.isArray(m.tool_calls)) continue;
    for (const call of m.tool_calls) {
      if (isRecord(call) && call.id === id && isRecord(call.function)) {
        const name = call.function.name;
        if (typeof name === "string") return name;
      }
    }
  }
  return undefined;
}

/**
 * `text` in the shape `response_format` asks for: as is (`text` or none),
 * `{"answer": text}` (`json_object`), or an instance of the schema
 * (`json_schema`; without a schema, as `json_object`).
 */
function formatted(text: string, format: unknown): string {
  if (!isRecord(format)) return text;
  if (format.type === "json_schema") {
    const spec = isRecord(format.json_schema) ? format.json_schema : {};
    if (spec.schema !== undefined) return JSON.stringify(instanceOf(spec.schema));
  } else if (format.type !== "json_object") {
    return text;
  }
  return JSON.stringify({ answer: text });
}
