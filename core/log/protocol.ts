/**
 * Messages between the request thread and the log Worker. The request
 * thread sends finished calls in batches (large body bytes transferred,
 * not copied); the Worker answers `/metrics` scrapes and the end of a close, and
 * forwards its operator log lines so they leave through the host's console.
 * Serving isolates talk to the same Worker over their own `MessagePort`
 * (`connect`): `calls`, `metrics` and `sync` (answered once everything sent
 * before it on that port was taken).
 * @module
 */
import type { FinishedCall } from "./call.ts";
import type { LogInit } from "./core.ts";
import type { CallDelivery, SinkSnapshot } from "../pipeline/pipeline.ts";
import type { TelemetryAnswer, TelemetryExport } from "../otlp/ingest.ts";
import type { RefusedReason } from "../otlp/metrics.ts";

/** From the request thread (or a serving isolate's port) to the log Worker. */
export type ToLogWorker =
  | { type: "start"; init: LogInit }
  | { type: "connect"; port: MessagePort }
  | { type: "calls"; calls: FinishedCall[]; shed: number }
  | { type: "metrics"; id: number }
  | { type: "sinks"; id: number }
  | { type: "delivery"; id: number; requestId: string }
  | { type: "ingest"; id: number; input: TelemetryExport }
  | { type: "ingest-refused"; signal: "traces" | "logs"; reason: RefusedReason }
  | { type: "sync"; id: number }
  | { type: "close"; deadlineMs: number };

/** An error as it crosses the boundary: what a caller may test, never a stack. */
export interface CrossedError {
  /** `Error.name`. */
  name: string;
  /** The (already masked) message. */
  message: string;
  /** A `code` property, when the error has one (e.g. a plugin load failure). */
  code?: string;
}

/** From the log Worker to the request thread. */
export type FromLogWorker =
  | { type: "started"; sinkNames: string[] }
  | { type: "failed"; error: CrossedError }
  | { type: "metrics"; id: number; text: string }
  | { type: "sinks"; id: number; sinks: SinkSnapshot[] }
  | { type: "delivery"; id: number; delivery: CallDelivery[] }
  | { type: "ingested"; id: number; answer: TelemetryAnswer }
  | { type: "synced"; id: number }
  | { type: "taken"; calls: number }
  | { type: "closing" }
  | { type: "closed" }
  | { type: "log"; level: "error" | "warn"; text: string };

/** The parts of an error that cross to the other thread. */
export function crossError(error: unknown): CrossedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    code: typeof code === "string" ? code : undefined,
  };
}

/** An `Error` rebuilt from its crossed parts (`name` and `code` kept). */
export function uncrossError(crossed: CrossedError): Error {
  const error = new Error(crossed.message);
  error.name = crossed.name;
  if (crossed.code !== undefined) Object.assign(error, { code: crossed.code });
  return error;
}
