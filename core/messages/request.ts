/**
 * The Anthropic Messages API request (`POST /v1/messages`), translated to a
 * Chat Completions request for upstreams that speak only Chat Completions:
 * `system` becomes the system message, content blocks become parts,
 * `tool_use` blocks become tool calls and `tool_result` blocks tool
 * messages, `tools` / `tool_choice` / `stop_sequences` / `thinking` map to
 * their chat equivalents. What has no equivalent (server tools, file ids)
 * is a 400 naming the parameter.
 * @module
 */
import { badRequest } from "../errors.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function invalid(param: string, message: string): never {
  throw badRequest(message, "invalid_request_error", param);
}

function unsupported(param: string, why: string): never {
  throw badRequest(`${param}: ${why}.`, "unsupported_parameter", param);
}

/** The text of a `tool_result`'s content (a string or text blocks). */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((b) => (isObj(b) && typeof b.text === "string" ? b.text : "")).join("");
}

/** An image or document source as a URL (a data URL for base64). */
function sourceUrl(source: unknown, at: string): string {
  if (!isObj(source)) invalid(`${at}.source`, `${at}.source: Field required`);
  if (source.type === "base64") {
    if (typeof source.media_type !== "string" || typeof source.data !== "string") {
      invalid(`${at}.source`, `${at}.source: base64 sources need media_type and data`);
    }
    return `data:${source.media_type};base64,${source.data}`;
  }
  if (source.type === "url" && typeof source.url === "string") return source.url;
  if (source.type === "text" && typeof source.data === "string") {
    return `data:text/plain;base64,${btoa(unescape(encodeURIComponent(source.data)))}`;
  }
  return unsupported(
    `${at}.source.type`,
    `${JSON.stringify(source.type)} sources are not translated`,
  );
}

/** The chat messages of one Anthropic message (tool results become tool messages first). */
function chatMessages(message: unknown, at: string): Obj[] {
  if (!isObj(message)) invalid(at, `${at}: Input should be an object`);
  const role = message.role;
  if (role !== "user" && role !== "assistant") {
    invalid(`${at}.role`, `${at}.role: Input should be 'user' or 'assistant'`);
  }
  const content = message.content;
  if (typeof content === "string") return [{ role, content }];
  if (!Array.isArray(content)) invalid(`${at}.content`, `${at}.content: Input should be a list`);
  const tools: Obj[] = [];
  const parts: Obj[] = [];
  const calls: Obj[] = [];
  content.forEach((block, i) => {
    const where = `${at}.content.${i}`;
    if (!isObj(block)) invalid(where, `${where}: Input should be an object`);
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: String(block.text ?? "") });
        return;
      case "image":
        parts.push({ type: "image_url", image_url: { url: sourceUrl(block.source, where) } });
        return;
      case "document":
        parts.push({
          type: "file",
          file: { file_data: sourceUrl(block.source, where), filename: block.title ?? "document" },
        });
        return;
      case "tool_use":
        calls.push({
          id: String(block.id ?? ""),
          type: "function",
          function: {
            name: String(block.name ?? ""),
            arguments: JSON.stringify(block.input ?? {}),
          },
        });
        return;
      case "tool_result":
        tools.push({
          role: "tool",
          tool_call_id: String(block.tool_use_id ?? ""),
          content: block.is_error === true
            ? `Error: ${resultText(block.content)}`
            : resultText(block.content),
        });
        return;
      case "thinking":
      case "redacted_thinking":
        return; // a previous turn's thinking: Chat Completions has no place for it
    }
    unsupported(
      `${where}.type`,
      `content blocks of type ${JSON.stringify(block.type)} are not translated`,
    );
  });
  const out: Obj[] = [...tools];
  if (role === "assistant") {
    const text = parts.map((p) => p.text ?? "").join("");
    if (text || calls.length) {
      const turn: Obj = { role, content: text || null };
      if (calls.length) turn.tool_calls = calls;
      out.push(turn);
    }
  } else if (parts.length) {
    const textOnly = parts.every((p) => p.type === "text");
    out.push({ role, content: textOnly ? parts.map((p) => p.text).join("") : parts });
  }
  return out;
}

/** The chat messages of a Messages request: `system` first, then each message. */
export function anthropicMessages(body: Obj): Obj[] {
  const messages: Obj[] = [];
  const system = typeof body.system === "string"
    ? body.system
    : Array.isArray(body.system)
    ? body.system.map((b) => (isObj(b) && typeof b.text === "string" ? b.text : "")).join("\n")
    : "";
  if (system) messages.push({ role: "system", content: system });
  if (Array.isArray(body.messages)) {
    body.messages.forEach((m, i) => messages.push(...chatMessages(m, `messages.${i}`)));
  }
  return messages;
}

function chatTools(tools: unknown): Obj[] | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) invalid("tools", "tools: Input should be a list");
  return tools.map((tool, i) => {
    if (!isObj(tool) || (tool.type !== undefined && tool.type !== "custom")) {
      unsupported(`tools.${i}`, "server tools need Anthropic's own API");
    }
    const fn: Obj = { name: tool.name, parameters: tool.input_schema ?? { type: "object" } };
    if (tool.description !== undefined) fn.description = tool.description;
    return { type: "function", function: fn };
  });
}

function chatToolChoice(choice: unknown): { choice?: unknown; parallel?: boolean } {
  if (!isObj(choice)) return {};
  const parallel = choice.disable_parallel_tool_use === true ? false : undefined;
  switch (choice.type) {
    case "auto":
      return { choice: "auto", parallel };
    case "any":
      return { choice: "required", parallel };
    case "none":
      return { choice: "none" };
    case "tool":
      return { choice: { type: "function", function: { name: choice.name } }, parallel };
  }
  return unsupported("tool_choice.type", `${JSON.stringify(choice.type)} is not translated`);
}

/** A thinking budget as a reasoning effort. */
function effortOf(thinking: unknown): string | undefined {
  if (!isObj(thinking) || thinking.type !== "enabled") return undefined;
  const budget = typeof thinking.budget_tokens === "number" ? thinking.budget_tokens : 0;
  return budget <= 2048 ? "low" : budget <= 8192 ? "medium" : "high";
}

/**
 * Validates a Messages request and returns its model and the Chat
 * Completions body that asks the same.
 * @throws {import("../errors.ts").GatewayError} 400 naming the parameter
 */
export function messagesToChat(body: Obj): { model: string; chat: Obj } {
  const model = body.model;
  if (typeof model !== "string" || model === "") invalid("model", "model: Field required");
  if (typeof body.max_tokens !== "number") invalid("max_tokens", "max_tokens: Field required");
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    invalid("messages", "messages: Input should be a non-empty list");
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    invalid("stream", "stream: Input should be a valid boolean");
  }
  const chat: Obj = { model, messages: anthropicMessages(body), max_tokens: body.max_tokens };
  for (const key of ["temperature", "top_p"] as const) {
    if (typeof body[key] === "number") chat[key] = body[key];
  }
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length) {
    chat.stop = body.stop_sequences;
  }
  const tools = chatTools(body.tools);
  if (tools?.length) {
    chat.tools = tools;
    const { choice, parallel } = chatToolChoice(body.tool_choice);
    if (choice !== undefined) chat.tool_choice = choice;
    if (parallel !== undefined) chat.parallel_tool_calls = parallel;
  }
  const effort = effortOf(body.thinking);
  if (effort) chat.reasoning_effort = effort;
  const user = isObj(body.metadata) ? body.metadata.user_id : undefined;
  if (typeof user === "string") chat.user = user;
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return { model, chat };
}
