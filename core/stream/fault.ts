/**
 * What can go wrong with an upstream stream that is not a network error:
 * one named failure, so the relay, the parser and the adapters report it the
 * same way (a 502 error event to the client, a failure in the log event).
 * @module
 */

/** Machine-readable codes of {@link StreamFault}. */
export type StreamFaultCode =
  /** The stream ended before `[DONE]` and before every choice had a finish reason. */
  | "upstream_stream_truncated"
  /** One SSE event was larger than the parser's bound. */
  | "upstream_event_too_large"
  /** The stream could not be relayed (a read that is not bytes, an internal fault). */
  | "upstream_stream_error";

/** An upstream stream that cannot be relayed to its end; `code` says why. */
export class StreamFault extends Error {
  /** Why the stream failed, e.g. `upstream_stream_truncated`. */
  readonly code: StreamFaultCode;

  /** Creates a fault with its code and a message for the client and the log event. */
  constructor(code: StreamFaultCode, message: string) {
    super(message);
    this.name = "StreamFault";
    this.code = code;
  }
}
