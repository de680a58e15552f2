/**
 * Relays an upstream SSE stream to the client event by event, feeding a side
 * accumulator, hiding the usage chunk the gateway asked for on the client's
 * behalf, and cancelling the upstream when the client goes away.
 * @module
 */
import { isRecord, StreamAccumulator } from "./accumulator.ts";
import { StreamFault } from "./fault.ts";
import { encodeSse, type SseEvent, SseParser, sseText } from "./sse.ts";

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

/**
 * Rewrites a chat stream for another API (the Responses route): each chunk
 * becomes that API's events, and the stream's end and failure its own.
 */
export interface ChunkTranslator {
  /** SSE text for one upstream chunk (its parsed JSON; "" to send nothing). */
  chunk(chunk: unknown): string;
  /** SSE text ending a complete stream. */
  end(): string;
  /** SSE text of a failure (`describeError`'s object), the last event. */
  fail(error: Record<string, unknown>): string;
  /**
   * Whether the stream was complete when the upstream ended (a stream of
   * another API's own events); default: `[DONE]` or every choice finished.
   */
  complete?(): boolean;
}

/** Options for {@link relayStream}. */
export interface RelayOptions {
  /** Sends another API's events instead of the chat chunks (default: chunks as received). */
  translate?: ChunkTranslator;
  /** Forward chunks with `choices: []` and `usage` (the client asked for usage). */
  forwardUsage: boolean;
  /** Called exactly once, when the stream ends for any reason. */
  onEnd: (end: RelayEnd) => void;
  /** The client's signal: an upstream read that fails after it aborted is the client's doing. */
  clientSignal: AbortSignal;
  /** Maps an upstream failure to the error object sent as the last SSE event. */
  describeError: (error: unknown) => Record<string, unknown>;
}

/** A chunk's JSON value; undefined when it is not JSON. */
function parseChunk(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/**
 * Wraps an upstream SSE body; the returned stream is the client's response body.
 *
 * Every event is forwarded as received (a chunk of the wrong shape too: only
 * the accumulator skips it). Whatever throws while relaying ends the stream
 * with an error event, cancels the upstream, and `onEnd` runs exactly once.
 *
 * When is a stream complete? When the upstream sent `[DONE]`, or, without
 * `[DONE]` (some servers omit it), when every choice it streamed has a
 * finish reason. A stream that ends otherwise (no chunk at all, or a choice
 * still open) is truncated: a {@link StreamFault} `upstream_stream_truncated`,
 * relayed like any upstream failure.
 */
export function relayStream(
  upstream: ReadableStream<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const accumulator = new StreamAccumulator();
  let ended = false;
  let sawDone = false;
  let streamError: unknown;
  const end = (result: Omit<RelayEnd, "accumulator">) => {
    if (ended) return;
    ended = true;
    try {
      options.onEnd({ accumulator, ...result });
    } catch (error) {
      // The stream itself is done; the fault is the end handler's.
      console.error(`sluice: internal error at the end of a stream (${errorName(error)})`);
    }
  };

  /** Accumulates one event; returns its SSE text, or undefined when it is not for the client. */
  const translate = options.translate;
  const forward = (data: string, event?: string): string | undefined => {
    if (data === "[DONE]") {
      sawDone = true;
      if (translate) return undefined; // its end events follow the last chunk
    } else {
      const chunk = parseChunk(data);
      // A native pass-through relays every event as sent (its own errors too) and watches them.
      if (translate?.complete) return translate.chunk(chunk) || undefined;
      accumulator.add(chunk);
      if (isRecord(chunk)) {
        if (chunk.error !== undefined && chunk.choices === undefined) streamError = chunk.error;
        if (translate) {
          return streamError === undefined ? translate.chunk(chunk) || undefined : undefined;
        }
        const choices = chunk.choices;
        if (
          !options.forwardUsage && isRecord(chunk.usage) && Array.isArray(choices) &&
          choices.length === 0
        ) return undefined;
      }
    }
    return sseText(data, event);
  };
  /** Encodes the events of one upstream read together: one buffer per read, not per event. */
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, texts: string[]) => {
    if (texts.length > 0) controller.enqueue(encoder.encode(texts.join("")));
  };
  const forwardAll = (events: SseEvent[]): string[] =>
    events.flatMap((e) => forward(e.data, e.event) ?? []);

  /** Ends the stream for an upstream failure: a last error event, the upstream cancelled. */
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown) => {
    if (ended) return;
    // Each step on its own: the client side may already be closed or errored.
    try {
      const described = options.describeError(error);
      controller.enqueue(
        translate
          ? encoder.encode(translate.fail(described))
          : encodeSse(JSON.stringify({ error: described })),
      );
    } catch { /* nothing more can be sent */ }
    try {
      controller.close();
    } catch { /* already closed */ }
    end({ aborted: "upstream", error });
    reader.cancel(error).catch(() => {});
  };

  /** The upstream ended: forward what is left, then close, or fail when it was cut short. */
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    send(controller, forwardAll([...parser.push(decoder.decode()), ...parser.end()]));
    if (streamError !== undefined) {
      if (translate) {
        const error = isRecord(streamError) ? streamError : { message: String(streamError) };
        controller.enqueue(encoder.encode(translate.fail(error)));
      }
      controller.close();
      end({ aborted: "upstream", error: streamError });
      return;
    }
    const complete = translate?.complete
      ? translate.complete()
      : sawDone || accumulator.allFinished();
    if (!complete) {
      throw new StreamFault(
        "upstream_stream_truncated",
        "upstream stream ended before [DONE] and before a finish reason on every choice",
      );
    }
    if (translate) controller.enqueue(encoder.encode(translate.end()));
    controller.close();
    end({});
  };

  /** Reads until there is something to send (or the stream ends). */
  const pump = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (ended) return;
        if (!options.clientSignal.aborted) return fail(controller, error);
        end({ aborted: "client" });
        controller.error(error);
        return;
      }
      if (ended) return;
      if (result.done) return finish(controller);
      const texts = forwardAll(parser.push(decoder.decode(result.value, { stream: true })));
      if (texts.length > 0) return send(controller, texts);
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pump(controller);
      } catch (error) {
        fail(controller, error);
      }
    },
    async cancel(reason) {
      end({ aborted: "client" });
      await reader.cancel(reason).catch(() => {});
    },
  });
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
