/**
 * OpenAI-shaped chat content (what Sluice logs) to the OTel GenAI semantic
 * conventions' message "parts" shape (`gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.system_instructions`,
 * `gen_ai.tool.definitions`, semconv v1.41.0).
 * @module
 */

/**
 * One part of a GenAI message. Known `type`s and their fields:
 * `text` (`content`), `tool_call` (`id?`, `name`, `arguments`),
 * `tool_call_response` (`id?`, `response`), `blob` (`mime_type?`,
 * `modality`, `content` in base64), `file` (`mime_type?`, `modality`,
 * `file_id`), `uri` (`mime_type?`, `modality`, `uri`), `reasoning`
 * (`content`); any other `type` is a generic part.
 */
export interface GenAiPart {
  /** The part's kind, e.g. `text` or `tool_call`. */
  type: string;
  /** The part's fields, which depend on `type`. */
  [field: string]: unknown;
}

/** One message of `gen_ai.input.messages`. */
export interface GenAiChatMessage {
  /** `system`, `user`, `assistant`, `tool` (or another role the request used). */
  role: string;
  /** The message content, in order. */
  parts: GenAiPart[];
  /** The participant's name, when the request set one. */
  name?: string;
}

/** One message of `gen_ai.output.messages` (one per choice). */
export interface GenAiOutputMessage extends GenAiChatMessage {
  /** `stop`, `length`, `content_filter`, `tool_call`, `error` or the provider's own value. */
  finish_reason: string;
}

/** One entry of `gen_ai.tool.definitions`. */
export interface GenAiToolDefinition {
  /** `function` for function tools, else the provider's tool type. */
  type: string;
  /** The tool's name. */
  name: string;
  /** What the tool does. */
  description?: string;
  /** The JSON Schema of the tool's arguments. */
  parameters?: unknown;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Tool-call arguments are a JSON string in OpenAI's shape; the semconv prefers the parsed object. */
function parseArguments(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const DATA_URL = /^data:([^;,]+)?(?:;[^,]*)?;base64,([A-Za-z0-9+/]+={0,2})$/;

function modalityOf(mime: string | undefined, fallback: string): string {
  const top = mime?.split("/")[0];
  return top === "image" || top === "audio" || top === "video" ? top : fallback;
}

/** An OpenAI content part as a semconv part. */
function partOf(part: unknown): GenAiPart | undefined {
  if (typeof part === "string") return { type: "text", content: part };
  if (!isObject(part) || typeof part.type !== "string") return undefined;
  switch (part.type) {
    case "text":
    case "input_text":
    case "output_text":
      return { type: "text", content: typeof part.text === "string" ? part.text : "" };
    case "refusal":
      return { type: "refusal", content: typeof part.refusal === "string" ? part.refusal : "" };
    case "image_url": {
      const image = part.image_url;
      const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
      if (typeof url !== "string") return { type: "uri", modality: "image", uri: "" };
      const data = DATA_URL.exec(url);
      if (data) {
        return {
          type: "blob",
          mime_type: data[1],
          modality: modalityOf(data[1], "image"),
          content: data[2],
        };
      }
      // A data URL whose payload the redaction step replaced keeps its placeholder as the URI.
      return { type: "uri", modality: "image", uri: url };
    }
    case "input_audio": {
      const audio = isObject(part.input_audio) ? part.input_audio : {};
      const format = typeof audio.format === "string" ? audio.format : undefined;
      return {
        type: "blob",
        mime_type: format ? `audio/${format}` : undefined,
        modality: "audio",
        content: typeof audio.data === "string" ? audio.data : "",
      };
    }
    case "file": {
      const file = isObject(part.file) ? part.file : {};
      if (typeof file.file_id === "string") {
        return { type: "file", modality: "file", file_id: file.file_id };
      }
      const data = typeof file.file_data === "string" ? DATA_URL.exec(file.file_data) : null;
      if (data) {
        return {
          type: "blob",
          mime_type: data[1],
          modality: modalityOf(data[1], "file"),
          content: data[2],
        };
      }
      return { type: "file", modality: "file", file_id: String(file.filename ?? "") };
    }
    default: {
      // A part type the conventions do not name: keep it whole as a generic part.
      return { ...part, type: part.type };
    }
  }
}

/** The parts of an OpenAI message `content` (a string, an array of parts, or null). */
export function contentParts(content: unknown): GenAiPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", content }];
  if (Array.isArray(content)) {
    const parts: GenAiPart[] = [];
    for (const p of content) {
      const part = partOf(p);
      if (part) parts.push(part);
    }
    return parts;
  }
  return [{ type: "text", content: JSON.stringify(content) }];
}

function toolCallParts(message: Json): GenAiPart[] {
  const parts: GenAiPart[] = [];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isObject(call)) continue;
      const fn = isObject(call.function) ? call.function : {};
      parts.push({
        type: "tool_call",
        ...(typeof call.id === "string" ? { id: call.id } : {}),
        name: typeof fn.name === "string" ? fn.name : String(call.type ?? "tool"),
        arguments: parseArguments(fn.arguments),
      });
    }
  }
  if (isObject(message.function_call)) {
    const fn = message.function_call;
    parts.push({
      type: "tool_call",
      name: typeof fn.name === "string" ? fn.name : "function",
      arguments: parseArguments(fn.arguments),
    });
  }
  return parts;
}

/** An OpenAI chat message (request or response) as a semconv message, without finish reason. */
export function chatMessage(message: unknown): GenAiChatMessage | undefined {
  if (!isObject(message)) {
    return typeof message === "string"
      ? { role: "user", parts: [{ type: "text", content: message }] }
      : undefined;
  }
  const role = typeof message.role === "string" ? message.role : "user";
  const parts: GenAiPart[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning) {
    parts.push({ type: "reasoning", content: reasoning });
  }
  if (role === "tool" || role === "function") {
    parts.push({
      type: "tool_call_response",
      ...(typeof message.tool_call_id === "string" ? { id: message.tool_call_id } : {}),
      response: typeof message.content === "string" ? message.content : message.content ?? null,
    });
  } else {
    parts.push(...contentParts(message.content));
  }
  if (typeof message.refusal === "string" && message.refusal) {
    parts.push({ type: "refusal", content: message.refusal });
  }
  parts.push(...toolCallParts(message));
  const out: GenAiChatMessage = { role: role === "function" ? "tool" : role, parts };
  if (typeof message.name === "string") out.name = message.name;
  return out;
}

/** Roles whose messages are system instructions rather than chat history. */
const SYSTEM_ROLES = new Set(["system", "developer"]);

/**
 * Splits a chat request's `messages` into the semconv input messages and,
 * when `separateSystem` is set, the system instructions (the parts of every
 * `system`/`developer` message).
 */
export function chatInput(
  messages: unknown,
  separateSystem: boolean,
): { input: GenAiChatMessage[]; system: GenAiPart[] } {
  const input: GenAiChatMessage[] = [];
  const system: GenAiPart[] = [];
  if (!Array.isArray(messages)) {
    const single = chatMessage(messages);
    if (single) input.push(single);
    return { input, system };
  }
  for (const m of messages) {
    const message = chatMessage(m);
    if (!message) continue;
    if (separateSystem && SYSTEM_ROLES.has(message.role)) system.push(...message.parts);
    else input.push(message);
  }
  return { input, system };
}

/** A legacy completions `prompt` (a string or a list of strings) as user messages. */
export function promptInput(prompt: unknown): GenAiChatMessage[] {
  const prompts = typeof prompt === "string"
    ? [prompt]
    : Array.isArray(prompt) && prompt.every((p): p is string => typeof p === "string")
    ? prompt
    : [];
  return prompts.map((p) => ({ role: "user", parts: [{ type: "text", content: p }] }));
}

/** OpenAI `finish_reason` values as the semconv `FinishReason` (`tool_calls` → `tool_call`). */
export function semconvFinishReason(reason: string): string {
  if (reason === "tool_calls" || reason === "function_call") return "tool_call";
  return reason;
}

/**
 * `tools` as `gen_ai.tool.definitions`, in any of the shapes the routes
 * take: Chat Completions' `{type: "function", function: {name, …}}`, the
 * Responses API's `{type: "function", name, parameters}` and Anthropic's
 * `{name, input_schema}` (a custom tool, so `function`); other tools keep
 * their own `type` (Anthropic's server tools, say).
 *
 * @param tools `model_parameters.tools` of an event.
 * @returns The definitions (tools without a name are left out).
 *
 * @example
 * ```ts
 * import { toolDefinitions } from "@sluice/otel/genai";
 * const schema = { type: "object", properties: { city: { type: "string" } } };
 * toolDefinitions([{ name: "get_weather", input_schema: schema }]);
 * // [{ type: "function", name: "get_weather", parameters: schema }]
 * ```
 */
export function toolDefinitions(tools: unknown): GenAiToolDefinition[] {
  if (!Array.isArray(tools)) return [];
  const out: GenAiToolDefinition[] = [];
  for (const tool of tools) {
    if (!isObject(tool)) continue;
    const fn = isObject(tool.function) ? tool.function : undefined;
    // Anthropic's custom tools (`type` absent or `custom`, with `input_schema`) are functions.
    const anthropicCustom = tool.type === "custom" && isObject(tool.input_schema);
    const type = typeof tool.type === "string" && !anthropicCustom ? tool.type : "function";
    const name = typeof fn?.name === "string"
      ? fn.name
      : typeof tool.name === "string"
      ? tool.name
      : undefined;
    if (!name) continue;
    const definition: GenAiToolDefinition = { type, name };
    const description = fn?.description ?? tool.description;
    if (typeof description === "string") definition.description = description;
    const parameters = fn?.parameters ?? tool.parameters ?? tool.input_schema;
    if (isObject(parameters)) definition.parameters = parameters;
    out.push(definition);
  }
  return out;
}
