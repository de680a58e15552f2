/**
 * The OpenAI Responses API request, translated to a Chat Completions
 * request for upstreams that speak only Chat Completions: `instructions`
 * and `input` items become messages, function tools and `tool_choice` map
 * one to one, `text.format` becomes `response_format`, `reasoning.effort`
 * becomes `reasoning_effort`. What has no Chat Completions equivalent
 * (stored state, built-in tools, file ids) is a 400 naming the parameter.
 * @module
 */
import { badRequest } from "../errors.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Parameters that need state the gateway does not keep. */
const STATEFUL = ["previous_response_id", "conversation", "prompt"] as const;

function unsupported(param: string, why: string): never {
  throw badRequest(
    `'${param}' is not supported for this model: ${why}.`,
    "unsupported_parameter",
    param,
  );
}

function invalid(param: string, message: string): never {
  throw badRequest(message, "invalid_type", param);
}

/** One content part of an input message, as a Chat Completions part. */
function chatPart(part: unknown, at: string): Obj {
  if (!isObj(part)) invalid(at, `'${at}' must be an object.`);
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: String(part.text ?? "") };
    case "refusal":
      return { type: "text", text: String(part.refusal ?? "") };
    case "input_image":
      if (typeof part.image_url !== "string") {
        unsupported(`${at}.file_id`, "images are passed as image_url (a URL or data URL)");
      }
      return {
        type: "image_url",
        image_url: part.detail ? { url: part.image_url, detail: part.detail } : {
          url: part.image_url,
        },
      };
    case "input_file":
      if (typeof part.file_data !== "string") {
        unsupported(`${at}.file_id`, "files are passed inline as file_data");
      }
      return { type: "file", file: { file_data: part.file_data, filename: part.filename } };
    case "input_audio":
      return { type: "input_audio", input_audio: part.input_audio };
  }
  return invalid(`${at}.type`, `'${at}.type' ${JSON.stringify(part.type)} is not a content part.`);
}

/** A message item's content: a string, or parts (text-only assistant content joined). */
function chatContent(role: string, content: unknown, at: string): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) invalid(at, `'${at}' must be a string or an array.`);
  const parts = content.map((p, i) => chatPart(p, `${at}[${i}]`));
  if (role !== "user" && parts.every((p) => p.type === "text")) {
    return parts.map((p) => p.text).join("");
  }
  return parts;
}

/** The `output` of a function call, as a tool message's text. */
function toolOutput(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    return output.map((p) => (isObj(p) && typeof p.text === "string" ? p.text : "")).join("");
  }
  return JSON.stringify(output ?? "");
}

/** Finds an output item a client refers to by id (see `items.ts`). */
export type ItemLookup = (id: string) => Obj | undefined;

/** Appends one input item to the chat messages. */
function addItem(messages: Obj[], item: unknown, at: string, lookup?: ItemLookup): void {
  if (!isObj(item)) invalid(at, `'${at}' must be an object.`);
  const type = item.type ?? (typeof item.role === "string" ? "message" : undefined);
  if (type === "message") {
    const role = item.role === "developer" ? "system" : item.role;
    if (role !== "user" && role !== "assistant" && role !== "system") {
      invalid(`${at}.role`, `'${at}.role' must be user, assistant, system or developer.`);
    }
    messages.push({ role, content: chatContent(role, item.content, `${at}.content`) });
    return;
  }
  if (type === "function_call") {
    const call = {
      id: String(item.call_id ?? item.id ?? ""),
      type: "function",
      function: { name: String(item.name ?? ""), arguments: String(item.arguments ?? "") },
    };
    // One assistant turn: its text and its calls together (strict chat templates want that).
    const last = messages.at(-1);
    if (last?.role === "assistant") {
      if (Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else last.tool_calls = [call];
    } else messages.push({ role: "assistant", content: null, tool_calls: [call] });
    return;
  }
  if (type === "function_call_output") {
    messages.push({
      role: "tool",
      tool_call_id: String(item.call_id ?? ""),
      content: toolOutput(item.output),
    });
    return;
  }
  if (type === "reasoning") return; // a previous turn's reasoning: Chat Completions has no place for it
  if (type === "item_reference") {
    const id = String(item.id ?? "");
    const found = lookup?.(id);
    if (found) return addItem(messages, found, at);
    if (id.startsWith("rs_")) return; // reasoning: Chat Completions has no place for it anyway
    unsupported(
      at,
      `item ${JSON.stringify(id)} is not among this gateway's recent answers (kept an hour, per ` +
        "process); send the item itself, or store: false",
    );
  }
  unsupported(`${at}.type`, `input items of type ${JSON.stringify(type)} have no Chat equivalent`);
}

/**
 * The chat messages of a Responses request: `instructions` as the system
 * message, then the `input` (a string is one user message).
 */
export function responsesMessages(body: Obj, lookup?: ItemLookup): Obj[] {
  const messages: Obj[] = [];
  if (typeof body.instructions === "string" && body.instructions !== "") {
    messages.push({ role: "system", content: body.instructions });
  }
  const input = body.input;
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (Array.isArray(input)) {
    input.forEach((item, i) => addItem(messages, item, `input[${i}]`, lookup));
  }
  return messages;
}

function chatTools(tools: unknown): Obj[] | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) invalid("tools", "'tools' must be an array.");
  return tools.map((tool, i) => {
    if (!isObj(tool) || tool.type !== "function") {
      unsupported(
        `tools[${i}]`,
        `built-in tools (${isObj(tool) ? String(tool.type) : "?"}) need the OpenAI Responses API`,
      );
    }
    const fn: Obj = { name: tool.name };
    if (tool.description !== undefined) fn.description = tool.description;
    if (tool.parameters !== undefined) fn.parameters = tool.parameters;
    if (tool.strict !== undefined && tool.strict !== null) fn.strict = tool.strict;
    return { type: "function", function: fn };
  });
}

function chatToolChoice(choice: unknown): unknown {
  if (choice === undefined || typeof choice === "string") return choice;
  if (isObj(choice) && choice.type === "function") {
    return { type: "function", function: { name: choice.name } };
  }
  return unsupported("tool_choice", "only auto, none, required and a function are translated");
}

function chatResponseFormat(text: unknown): Obj | undefined {
  const format = isObj(text) ? text.format : undefined;
  if (!isObj(format) || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    const schema: Obj = { name: format.name ?? "response", schema: format.schema };
    if (format.strict !== undefined) schema.strict = format.strict;
    if (format.description !== undefined) schema.description = format.description;
    return { type: "json_schema", json_schema: schema };
  }
  return unsupported("text.format", `format ${JSON.stringify(format.type)} is not translated`);
}

/** Copies the parameters that mean the same in both APIs. */
const SAME = ["temperature", "top_p", "parallel_tool_calls", "user", "service_tier"] as const;

/**
 * Validates a Responses request and returns its model and the Chat
 * Completions body that asks the same.
 * @throws {import("../errors.ts").GatewayError} 400 naming the parameter
 */
export function responsesToChat(body: Obj, lookup?: ItemLookup): { model: string; chat: Obj } {
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    invalid("model", "Missing required parameter: 'model' (a non-empty string).");
  }
  if (body.input === undefined || body.input === null) {
    throw badRequest("Missing required parameter: 'input'.", "missing_required_parameter", "input");
  }
  if (typeof body.input !== "string" && !Array.isArray(body.input)) {
    invalid("input", "'input' must be a string or an array of items.");
  }
  for (const param of STATEFUL) {
    if (body[param] !== undefined && body[param] !== null) {
      unsupported(param, "the gateway does not store responses or conversations");
    }
  }
  if (body.background === true) unsupported("background", "background responses need a store");
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    invalid("stream", "'stream' must be a boolean.");
  }
  const chat: Obj = { model, messages: responsesMessages(body, lookup) };
  for (const key of SAME) if (body[key] !== undefined && body[key] !== null) chat[key] = body[key];
  if (typeof body.max_output_tokens === "number") chat.max_tokens = body.max_output_tokens;
  const tools = chatTools(body.tools);
  if (tools?.length) chat.tools = tools;
  const toolChoice = chatToolChoice(body.tool_choice);
  if (toolChoice !== undefined && tools?.length) chat.tool_choice = toolChoice;
  const format = chatResponseFormat(body.text);
  if (format) chat.response_format = format;
  const effort = isObj(body.reasoning) ? body.reasoning.effort : undefined;
  if (typeof effort === "string") chat.reasoning_effort = effort;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return { model, chat };
}
