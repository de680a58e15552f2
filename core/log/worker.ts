/**
 * The log Worker's entry: hosts one {@link LogCore} and answers the request
 * thread's messages (`protocol.ts`). Its operator log lines (console.error /
 * console.warn) are forwarded to the request thread's console, so a gateway
 * has one place its lines leave from; sinks that write to stdout (console)
 * write directly.
 * @module
 */
/// <reference lib="deno.worker" />
import { LogCore } from "./core.ts";
import { crossError, type FromLogWorker, type ToLogWorker } from "./protocol.ts";

function post(message: FromLogWorker): void {
  self.postMessage(message);
}

for (const level of ["error", "warn"] as const) {
  console[level] = (...args: unknown[]) =>
    post({
      type: "log",
      level,
      text: args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "),
    });
}

let core: LogCore | undefined;
// Messages are handled in order: calls that arrive while the core starts wait for it.
let ready: Promise<unknown> = Promise.resolve();

self.onmessage = (message: MessageEvent<ToLogWorker>) => {
  const data = message.data;
  ready = ready.then(() => handle(data));
};

async function handle(data: ToLogWorker): Promise<void> {
  switch (data.type) {
    case "start":
      try {
        core = await LogCore.start(data.init);
        post({ type: "started", sinkNames: core.sinkNames });
      } catch (error) {
        post({ type: "failed", error: crossError(error) });
      }
      return;
    case "calls":
      core?.accept(data.calls);
      return;
    case "metrics":
      post({ type: "metrics", id: data.id, text: core?.metricsText() ?? "" });
      return;
    case "close":
      try {
        await core?.close(data.deadlineMs);
      } catch (error) {
        console.error(`sluice: closing the log path failed: ${crossError(error).message}`);
      }
      post({ type: "closed" });
      return;
  }
}
