/**
 * The request thread's side of the log hand-off: finished calls become
 * plain records and leave for the log side in batches, one per
 * {@link HAND_OFF_BATCH_MS} (one timer per batch, not per call), after their
 * responses have left.
 * @module
 */
import type { FinishedCall } from "../log/call.ts";
import type { LogHost } from "../log/host.ts";
import type { CallControls } from "../pipeline/controls.ts";
import { type CallRecord, toFinishedCall } from "./call_record.ts";

/** Longest a finished call waits before its batch is handed over. */
export const HAND_OFF_BATCH_MS = 5;

/** Batches finished calls for a {@link LogHost}. */
export class HandOff {
  readonly #host: LogHost;
  #batch: FinishedCall[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Hands batches to `host`. */
  constructor(host: LogHost) {
    this.#host = host;
  }

  /** Ends a call now and queues it for the next batch. */
  finish(record: CallRecord, controls: CallControls | undefined): void {
    record.endTime = Date.now();
    this.#batch.push(toFinishedCall(record, controls));
    this.#timer ??= setTimeout(() => this.flush(), HAND_OFF_BATCH_MS);
  }

  /** Hands over what is queued now (at shutdown, or when the timer fires). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#host.submit(batch);
  }
}
