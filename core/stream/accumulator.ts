/**
 * Assembles streamed OpenAI chunks into the final message, tool calls and
 * usage for the log event, beside the stream (never in front of it).
 * @module
 */

/** Token usage in OpenAI's shape. */
export interface Usage {
  /** Input tokens. */
  prompt_tokens?: number;
  /** Output tokens. */
  completion_tokens?: number;
  /** Total tokens. */
  total_tokens?: number;
  /** Cached input details. */
  prompt_tokens_details?: { cached_tokens?: number };
  /** Anthropic-style cache counters, when translated. */
  cache_creation_input_tokens?: number;
}

interface ToolCallParts {
  id?: string;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceParts {
  content: string;
  reasoning: string;
  refusal: string;
  role: string;
  toolCalls: ToolCallParts[];
  finishReason: string | null;
}

/** Collects chat or completion chunks into one response. */
export class StreamAccumulator {
  /** Upstream response id. */
  id?: string;
  /** Upstream model. */
  model?: string;
  /** Usage, from the final usage chunk. */
  usage?: Usage;
  /** Epoch ms of the first chunk carrying content. */
  firstTokenAt?: number;
  /** Number of chunks seen. */
  chunks = 0;
  #choices: ChoiceParts[] = [];

  /** Adds one parsed chunk. */
  add(chunk: Record<string, unknown>): void {
    this.chunks++;
    if (typeof chunk.id === "string") this.id ??= chunk.id;
    if (typeof chunk.model === "string") this.model ??= chunk.model;
    if (chunk.usage && typeof chunk.usage === "object") this.usage = chunk.usage as Usage;
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices as Record<string, unknown>[]) {
      const index = typeof choice.index === "number" ? choice.index : 0;
      const parts = this.#choices[index] ??= {
        content: "",
        reasoning: "",
        refusal: "",
        role: "assistant",
        toolCalls: [],
        finishReason: null,
      };
      if (typeof choice.finish_reason === "string") parts.finishReason = choice.finish_reason;
      if (typeof choice.text === "string") {
        this.#mark(choice.text);
        parts.content += choice.text;
      }
      const delta = choice.delta as Record<string, unknown> | undefined;
      if (!delta) continue;
      if (typeof delta.role === "string") parts.role = delta.role;
      if (typeof delta.content === "string") {
        this.#mark(delta.content);
        parts.content += delta.content;
      }
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === "string") {
        this.#mark(reasoning);
        parts.reasoning += reasoning;
      }
      if (typeof delta.refusal === "string") parts.refusal += delta.refusal;
      if (Array.isArray(delta.tool_calls)) {
        this.#mark("tool");
        for (const call of delta.tool_calls as Record<string, unknown>[]) {
          const i = typeof call.index === "number" ? call.index : parts.toolCalls.length;
          const target = parts.toolCalls[i] ??= {
            type: "function",
            function: { name: "", arguments: "" },
          };
          if (typeof call.id === "string") target.id = call.id;
          const fn = call.function as Record<string, unknown> | undefined;
          if (typeof fn?.name === "string") target.function.name += fn.name;
          if (typeof fn?.arguments === "string") target.function.arguments += fn.arguments;
        }
      }
    }
  }

  #mark(text: string): void {
    if (text && this.firstTokenAt === undefined) this.firstTokenAt = Date.now();
  }

  /** The finish reason of the first choice. */
  get finishReason(): string | null {
    return this.#choices[0]?.finishReason ?? null;
  }

  /** The finish reason of each choice that reported one, in choice order. */
  finishReasons(): string[] {
    return this.#choices.flatMap((c) => (c?.finishReason ? [c.finishReason] : []));
  }

  /** The assembled assistant message (chat) of each choice. */
  messages(): Record<string, unknown>[] {
    return this.#choices.filter(Boolean).map((c) => {
      const message: Record<string, unknown> = { role: c.role, content: c.content || null };
      if (c.reasoning) message.reasoning_content = c.reasoning;
      if (c.refusal) message.refusal = c.refusal;
      if (c.toolCalls.length) message.tool_calls = c.toolCalls.filter(Boolean);
      return message;
    });
  }

  /** The assembled texts (legacy completions) of each choice. */
  texts(): string[] {
    return this.#choices.filter(Boolean).map((c) => c.content);
  }
}
