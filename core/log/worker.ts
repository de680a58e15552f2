/**
 * The log Worker's entry: hosts one {@link LogCore} and answers the request
 * thread's messages (`protocol.ts`), and those of serving isolates that
 * connect their own ports. Its operator log lines (console.error /
 * console.warn) are forwarded to the request thread's console, so a gateway
 * has one place its lines leave from; sinks that write to stdout (console)
 * write directly.
 * @module
 */
/// <reference lib="deno.worker" />
import { maskSecrets } from "../loader/secrets.ts";
import { LogCore } from "./core.ts";
import type { TelemetryAnswer } from "../otlp/ingest.ts";
import { crossError, type FromLogWorker, type ToLogWorker } from "./protocol.ts";

type Reply = (message: FromLogWorker) => void;

const toParent: Reply = (message) => self.postMessage(message);

/** The config's secrets, once known: no line leaves this Worker with one in it. */
let secrets: string[] = [];

for (const level of ["error", "warn"] as const) {
  console[level] = (...args: unknown[]) =>
    toParent({
      type: "log",
      level,
      text: maskSecrets(
        args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "),
        secrets,
      ),
    });
}

// A plugin's stray error (thrown from its own timer, a promise nobody awaits) must not end the
// log side: it is reported, and every other sink goes on.
self.addEventListener("error", (event: ErrorEvent) => {
  event.preventDefault();
  console.error(`sluice: uncaught error on the log side (a sink plugin?): ${event.message}`);
});
self.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
  event.preventDefault();
  const reason = event.reason instanceof Error ? event.reason.message : String(event.reason);
  console.error(`sluice: unhandled rejection on the log side (a sink plugin?): ${reason}`);
});

let core: LogCore | undefined;

/** The answer to an export that arrived before the sinks were loaded (never: messages wait). */
function unavailable(): TelemetryAnswer {
  return { status: 400, body: new Uint8Array(0), accepted: 0, rejected: 0, events: 0 };
}
// Messages are handled in order: calls that arrive while the core starts wait for it.
let queue: Promise<unknown> = Promise.resolve();

function enqueue(data: ToLogWorker, reply: Reply): void {
  // One failing message must never stop the ones after it.
  queue = queue.then(() => handle(data, reply)).catch((error) =>
    console.error(
      `sluice: the log side failed on a ${data.type} message: ${crossError(error).message}`,
    )
  );
}

self.onmessage = (message: MessageEvent<ToLogWorker>) => enqueue(message.data, toParent);

async function handle(data: ToLogWorker, reply: Reply): Promise<void> {
  switch (data.type) {
    case "start":
      secrets = data.init.secrets;
      try {
        core = await LogCore.start(data.init);
        reply({ type: "started", sinkNames: core.sinkNames });
      } catch (error) {
        reply({ type: "failed", error: crossError(error) });
      }
      return;
    case "connect": {
      const port = data.port;
      const toPort: Reply = (message) => port.postMessage(message);
      port.onmessage = (message: MessageEvent<ToLogWorker>) => enqueue(message.data, toPort);
      return;
    }
    case "calls":
      core?.accept(data.calls, data.shed);
      reply({ type: "taken", calls: data.calls.length });
      return;
    case "metrics":
      reply({ type: "metrics", id: data.id, text: core?.metricsText() ?? "" });
      return;
    case "ingest": {
      // Routed in order with the calls; answered once on disk, without holding up the messages after it.
      const answered = core?.ingest(data.input) ?? Promise.resolve(unavailable());
      answered.then((answer) => reply({ type: "ingested", id: data.id, answer }));
      return;
    }
    case "ingest-refused":
      core?.ingestRefused(data.signal, data.reason);
      return;
    case "delivery":
      reply({ type: "delivery", id: data.id, delivery: core?.delivery(data.requestId) ?? [] });
      return;
    case "sinks":
      reply({ type: "sinks", id: data.id, sinks: core?.sinkStates() ?? [] });
      return;
    case "sync":
      reply({ type: "synced", id: data.id });
      return;
    case "close":
      reply({ type: "closing" });
      try {
        await core?.close(data.deadlineMs);
      } catch (error) {
        console.error(`sluice: closing the log path failed: ${crossError(error).message}`);
      }
      reply({ type: "closed" });
      return;
  }
}
