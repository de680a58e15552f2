/**
 * Relays an upstream SSE stream to the client event by event, feeding a side
 * accumulator, hiding the usage chunk the gateway asked for on the client's
 * behalf, and cancelling the upstream when the client goes away.
 * @module
 */
import { StreamAccumulator } from "./accumulator.ts";
import { encodeSse, SseParser, sseText } from "./sse.ts";

const encoder = new TextEncoder();

/** How a relayed stream ended. */
export interface RelayEnd {
  /** The assembled output. */
  accumulator: StreamAccumulator;
  /** `client` when the client disconnected, `upstream` when the upstream failed. */
  aborted?: "client" | "upstream";
  /** The upstream failure, if any (an abort, a reset, or an `error` event). */
  error?: unknown;
}

/** Options for {@link relayStream}. */
export interface RelayOptions {
  /** Forward chunks with `choices: []` and `usage` (the client asked for usage). */
  forwardUsage: boolean;
  /** Called exactly once, when the stream ends for any reason. */
  onEnd: (end: RelayEnd) => void;
  /** The client's signal: an upstream read that fails after it aborted is the client's doing. */
  clientSignal: AbortSignal;
  /** Maps an upstream failure to the error object sent as the last SSE event. */
  describeError: (error: unknown) => Record<string, unknown>;
}

/** Wraps an upstream SSE body; the returned stream is the client's response body. */
export function relayStream(
  upstream: ReadableStream<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const accumulator = new StreamAccumulator();
  let ended = false;
  let streamError: unknown;
  const end = (result: Omit<RelayEnd, "accumulator">) => {
    if (ended) return;
    ended = true;
    options.onEnd({ accumulator, ...result });
  };

  /** Accumulates one event; returns its SSE text, or undefined when it is not for the client. */
  const forward = (data: string, event?: string): string | undefined => {
    if (data !== "[DONE]") {
      let chunk: Record<string, unknown> | undefined;
      try {
        chunk = JSON.parse(data);
      } catch {
        // Not JSON: forward as is, nothing to accumulate.
      }
      if (chunk && typeof chunk === "object") {
        if (chunk.error !== undefined && chunk.choices === undefined) streamError = chunk.error;
        accumulator.add(chunk);
        const choices = chunk.choices;
        if (
          !options.forwardUsage && chunk.usage && Array.isArray(choices) && choices.length === 0
        ) return undefined;
      }
    }
    return sseText(data, event);
  };
  /** Encodes the events of one upstream read together: one buffer per read, not per event. */
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, texts: string[]) => {
    if (texts.length > 0) controller.enqueue(encoder.encode(texts.join("")));
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (ended) return;
          if (options.clientSignal.aborted) {
            end({ aborted: "client" });
            controller.error(error);
            return;
          }
          controller.enqueue(encodeSse(JSON.stringify({ error: options.describeError(error) })));
          controller.close();
          end({ aborted: "upstream", error });
          return;
        }
        if (result.done) {
          send(controller, parser.end().map((e) => forward(e.data, e.event) ?? ""));
          controller.close();
          end(streamError === undefined ? {} : { aborted: "upstream", error: streamError });
          return;
        }
        const texts: string[] = [];
        for (const e of parser.push(decoder.decode(result.value, { stream: true }))) {
          const text = forward(e.data, e.event);
          if (text !== undefined) texts.push(text);
        }
        if (texts.length > 0) {
          send(controller, texts);
          return;
        }
      }
    },
    async cancel(reason) {
      end({ aborted: "client" });
      await reader.cancel(reason).catch(() => {});
    },
  });
}
