/**
 * The content of a log event: the types of `LogEvent.messages` and
 * `LogEvent.response`. What a field holds depends on the event's
 * `call_type`:
 *
 * | `call_type`     | `messages`                        | `response`                                   |
 * | --------------- | --------------------------------- | -------------------------------------------- |
 * | `chat`          | {@link ChatMessage}`[]`           | {@link ChatMessage} (one choice) or `[]` (n) |
 * | `responses`     | {@link ChatMessage}`[]`           | {@link ChatMessage}                          |
 * | `messages`      | {@link ChatMessage}`[]`           | {@link ChatMessage}                          |
 * | `completion`    | {@link CompletionPrompt}          | `string[]` (one text per choice)             |
 * | `embedding`     | {@link EmbeddingInput}            | {@link EmbeddingSummary} (no vectors)        |
 * | `gateway_error` | absent                            | absent                                       |
 *
 * Either field may instead hold a string marker: {@link RemovedContent}
 * (the contract's `REMOVED_PLACEHOLDER`) where the sink's redaction policy
 * removed the content, or a truncation marker (`…[truncated N chars]`)
 * where an oversized event lost its whole content. `response` is absent
 * when a call failed before any answer; a stream that failed midway keeps
 * what was assembled.
 *
 * Request content is logged as the client sent it: the gateway checks only
 * that chat `messages` is a non-empty array of objects with a string `role`
 * and that `prompt`/`input` is a string or an array. The types describe the
 * documented OpenAI shapes and keep the rest open (index signatures,
 * {@link OtherContentPart}), so read optional fields with a check.
 *
 * `responses` (OpenAI Responses API) and `messages` (Anthropic Messages
 * API) calls are logged as the chat call the gateway translated them to;
 * the contract's `isChatCall` is true for all three chat-shaped call types.
 * A request refused before translation keeps its own shape
 * ({@link ResponsesInput}, {@link AnthropicMessage}`[]`). Narrow on
 * `call_type` first, then on the shape.
 *
 * This file has no runtime code.
 * @module
 */
import type { REMOVED_PLACEHOLDER } from "../plugin.ts";

/**
 * What core's redaction puts in place of removed content: the literal type
 * of the contract's `REMOVED_PLACEHOLDER` (test with `isRemoved`).
 */
export type RemovedContent = typeof REMOVED_PLACEHOLDER;

/** A chat role; the known ones are listed, any other string a client sent is kept. */
export type ChatRole =
  | "system"
  | "developer"
  | "user"
  | "assistant"
  | "tool"
  | "function"
  // deno-lint-ignore ban-types
  | (string & {});

/** A text part of a chat message's `content`. */
export interface ChatTextPart {
  /** Always `text`. */
  type: "text";
  /** The text. */
  text: string;
}

/** An image part (removed by `drop_non_text_parts`). */
export interface ChatImagePart {
  /** Always `image_url`. */
  type: "image_url";
  /** The image. */
  image_url: {
    /** An `https:` URL or a `data:` URL (its base64 may have been stripped by masking). */
    url: string;
    /** `auto`, `low` or `high`. */
    detail?: string;
  };
}

/** An audio part (removed by `drop_non_text_parts`). */
export interface ChatAudioPart {
  /** Always `input_audio`. */
  type: "input_audio";
  /** The audio. */
  input_audio: {
    /** Base64 audio (it may have been stripped by masking). */
    data: string;
    /** `wav`, `mp3`, …. */
    format: string;
  };
}

/** A file part (removed by `drop_non_text_parts`). */
export interface ChatFilePart {
  /** Always `file`. */
  type: "file";
  /** The file: an uploaded file's id, or inline data. */
  file: {
    /** An uploaded file's id. */
    file_id?: string;
    /** A `data:` URL (its base64 may have been stripped by masking). */
    file_data?: string;
    /** The file's name. */
    filename?: string;
  };
}

/** A refusal part of an assistant message. */
export interface ChatRefusalPart {
  /** Always `refusal`. */
  type: "refusal";
  /** The refusal text. */
  refusal: string;
}

/**
 * A content part of another kind: a provider's extension, an Anthropic
 * content block or a Responses API part. Its fields depend on `type`.
 */
export interface OtherContentPart {
  /** The part's kind. */
  type: string;
  /** The part's other fields. */
  [field: string]: unknown;
}

/** One part of a chat message's `content` array. */
export type ChatContentPart =
  | ChatTextPart
  | ChatImagePart
  | ChatAudioPart
  | ChatFilePart
  | ChatRefusalPart
  | OtherContentPart;

/** A function call of a chat message (`tool_calls[]`, or the legacy `function_call`). */
export interface ChatFunctionCall {
  /** The function's name. */
  name: string;
  /** The arguments as a JSON string (streamed calls: the concatenated fragments). */
  arguments: string;
}

/** A tool call of an assistant message. */
export interface ChatToolCall {
  /** The call's id (absent when a stream never sent one). */
  id?: string;
  /** `function` (or a provider's own tool type); absent when the upstream left it out. */
  type?: string;
  /** The function called. */
  function: ChatFunctionCall;
}

/**
 * One chat message: of the request (`messages[]`, any role) or of the
 * answer (`response`, the assistant's). Fields besides `role` are as the
 * client or upstream sent them; other fields (`cache_control`, `audio`, …)
 * are kept.
 *
 * @example Narrow a chat event's content
 * ```ts
 * import { type ChatMessage, isChatCall } from "@sluice/core/plugin";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * const event = sampleEvent();
 * const messages = event.messages;
 * if (isChatCall(event) && Array.isArray(messages)) {
 *   const first = messages[0] as ChatMessage;
 *   first.role; // "system"
 * }
 * const response = event.response;
 * if (response && typeof response === "object" && !Array.isArray(response) && "role" in response) {
 *   response.content; // "Hello! (sample 1)"
 * }
 * ```
 */
export interface ChatMessage {
  /** `system`, `developer`, `user`, `assistant`, `tool`, `function` or another role. */
  role: ChatRole;
  /** Text, parts, or `null` (an assistant message that only calls tools). */
  content?: string | ChatContentPart[] | null;
  /** The participant's name. */
  name?: string;
  /** Tool calls of an assistant message. */
  tool_calls?: ChatToolCall[];
  /** The call a `tool` message answers. */
  tool_call_id?: string;
  /** The legacy function call of an assistant message. */
  function_call?: ChatFunctionCall;
  /** The assistant's refusal, when it refused. */
  refusal?: string | null;
  /** Reasoning text (DeepSeek, Anthropic thinking translated, …). */
  reasoning_content?: string;
  /** Other fields, as sent. */
  [field: string]: unknown;
}

/** A legacy completions `prompt`: text, texts, or token ids (one list, or one per prompt). */
export type CompletionPrompt = string | string[] | number[] | number[][];

/** An embeddings `input`: text, texts, or token ids (one list, or one per input). */
export type EmbeddingInput = string | string[] | number[] | number[][];

/** What is logged of an embeddings answer: its size, never the vectors. */
export interface EmbeddingSummary {
  /** Always `list`. */
  object: "list";
  /** Number of vectors returned. */
  count: number;
  /** Length of each vector (also for `encoding_format: base64`), when there was one. */
  dimensions?: number;
}

/** A text part of a Responses API message (`input_text` in input, `output_text` in output). */
export interface ResponsesTextPart {
  /** `input_text` or `output_text`. */
  type: "input_text" | "output_text";
  /** The text. */
  text: string;
}

/** A message item of the OpenAI Responses API (`type` may be left out in `input`). */
export interface ResponsesMessageItem {
  /** `message`. */
  type?: "message";
  /** The item's id (output items). */
  id?: string;
  /** `user`, `assistant`, `system` or `developer`. */
  role: ChatRole;
  /** Text or parts (`input_text`, `input_image`, `input_file`, `output_text`, `refusal`, …). */
  content: string | (ResponsesTextPart | OtherContentPart)[];
  /** `in_progress`, `completed` or `incomplete`. */
  status?: string;
}

/** A function call item of the Responses API. */
export interface ResponsesFunctionCallItem {
  /** Always `function_call`. */
  type: "function_call";
  /** The call's id, which its output item names. */
  call_id: string;
  /** The function's name. */
  name: string;
  /** The arguments as a JSON string. */
  arguments: string;
  /** The item's id. */
  id?: string;
}

/** A function call's result, sent back as an input item of the Responses API. */
export interface ResponsesFunctionCallOutputItem {
  /** Always `function_call_output`. */
  type: "function_call_output";
  /** The call it answers. */
  call_id: string;
  /** The result: text or parts. */
  output: string | (ResponsesTextPart | OtherContentPart)[];
}

/** A reasoning item of the Responses API. */
export interface ResponsesReasoningItem {
  /** Always `reasoning`. */
  type: "reasoning";
  /** The item's id. */
  id?: string;
  /** Reasoning summary parts (`summary_text`). */
  summary: { type: string; text: string }[];
  /** Opaque reasoning state, when the client asked for it. */
  encrypted_content?: string;
}

/** Another Responses API item (`web_search_call`, `file_search_call`, …): fields depend on `type`. */
export interface ResponsesOtherItem {
  /** The item's kind. */
  type: string;
  /** The item's other fields. */
  [field: string]: unknown;
}

/**
 * One item of an OpenAI Responses API `input` array or `output` (reserved:
 * no call type produces it yet).
 */
export type ResponsesItem =
  | ResponsesMessageItem
  | ResponsesFunctionCallItem
  | ResponsesFunctionCallOutputItem
  | ResponsesReasoningItem
  | ResponsesOtherItem;

/** A Responses API `input`: text, or items (reserved). */
export type ResponsesInput = string | ResponsesItem[];

/** A text block of an Anthropic message. */
export interface AnthropicTextBlock {
  /** Always `text`. */
  type: "text";
  /** The text. */
  text: string;
}

/** A tool call block of an Anthropic assistant message. */
export interface AnthropicToolUseBlock {
  /** Always `tool_use`. */
  type: "tool_use";
  /** The call's id. */
  id: string;
  /** The tool's name. */
  name: string;
  /** The arguments, as an object. */
  input: Record<string, unknown>;
}

/** A tool result block of an Anthropic user message. */
export interface AnthropicToolResultBlock {
  /** Always `tool_result`. */
  type: "tool_result";
  /** The call it answers. */
  tool_use_id: string;
  /** The result: text or blocks. */
  content?: string | AnthropicContentBlock[];
  /** Whether the tool failed. */
  is_error?: boolean;
}

/** An Anthropic content block (`image`, `document`, `thinking`, … are {@link OtherContentPart}s). */
export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | OtherContentPart;

/** One message of an Anthropic Messages request (reserved). */
export interface AnthropicMessage {
  /** `user` or `assistant` (system prompts are the request's `system`). */
  role: "user" | "assistant";
  /** Text or blocks. */
  content: string | AnthropicContentBlock[];
}

/** The answer of an Anthropic Messages call (reserved). */
export interface AnthropicMessageResponse {
  /** Always `message`. */
  type: "message";
  /** Always `assistant`. */
  role: "assistant";
  /** The answer's blocks. */
  content: AnthropicContentBlock[];
  /** `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, …. */
  stop_reason?: string | null;
}

/**
 * `LogEvent.messages`: what the client sent, by call type (see the
 * module's table), or a string marker ({@link RemovedContent}, truncation).
 *
 * @example
 * ```ts
 * import { isRemoved, type LogEventMessages } from "@sluice/core/plugin";
 *
 * function promptCount(messages: LogEventMessages | undefined): number {
 *   if (messages === undefined || isRemoved(messages)) return 0;
 *   return Array.isArray(messages) ? messages.length : 1;
 * }
 * promptCount([{ role: "user", content: "hi" }]); // 1
 * promptCount("[REDACTED]"); // 0
 * ```
 */
export type LogEventMessages =
  | ChatMessage[]
  | CompletionPrompt
  | EmbeddingInput
  | ResponsesInput
  | AnthropicMessage[]
  | RemovedContent
  | string;

/**
 * An upstream answer of a shape none of the other members describe: a
 * non-streamed answer's `message` is logged as the upstream sent it.
 */
export type OtherResponse = Record<string, unknown>;

/**
 * `LogEvent.response`: the answer, by call type (see the module's
 * table), or a string marker ({@link RemovedContent}, truncation).
 * {@link OtherResponse} keeps room for an upstream's own shape.
 *
 * @example
 * ```ts
 * import type { EmbeddingSummary, LogEvent } from "@sluice/core/plugin";
 * import { sampleEvent } from "@sluice/core/testing";
 *
 * function dimensionsOf(event: LogEvent): number | undefined {
 *   const response = event.response;
 *   // `call_type` says which member it is; a removed or truncated one is a string.
 *   if (event.call_type !== "embedding" || typeof response !== "object") return undefined;
 *   return (response as EmbeddingSummary).dimensions;
 * }
 * const summary: EmbeddingSummary = { object: "list", count: 2, dimensions: 1536 };
 * dimensionsOf(sampleEvent({ call_type: "embedding", messages: ["a", "b"], response: summary })); // 1536
 * dimensionsOf(sampleEvent()); // undefined (a chat event)
 * ```
 */
export type LogEventResponse =
  | ChatMessage
  | ChatMessage[]
  | string[]
  | EmbeddingSummary
  | ResponsesItem[]
  | AnthropicMessageResponse
  | OtherResponse
  | RemovedContent
  | string;
