/**
 * Serving isolates: `server.workers` `Deno.serve` Workers on one port
 * (`reusePort`: the kernel spreads connections over them, Linux only), each
 * handing its finished calls to the one log Worker through its own
 * `MessagePort`. The thread that starts them serves nothing itself.
 * @module
 */
import { configBaseDir, configSecrets } from "../config/load.ts";
import type { GatewayConfig } from "../config/types.ts";
import { WorkerLogHost } from "../log/host.ts";
import type { FromServeWorker, ToServeWorker } from "./serve_worker.ts";

/** Running serving isolates. */
export interface ServingIsolates {
  /** The port they listen on. */
  port: number;
  /** Stops accepting, drains every isolate, then closes the log side (within the drain deadline). */
  stop(graceMs: number): Promise<void>;
}

/** Starts the log Worker and `count` serving isolates; rejects (stopping what started) if any fails. */
export async function serveIsolates(
  config: GatewayConfig,
  count: number,
): Promise<ServingIsolates> {
  const secrets = [...configSecrets(config)];
  const baseDir = configBaseDir(config);
  const log = await WorkerLogHost.start({ config, baseDir, secrets });
  const workers: Worker[] = [];
  let port = config.server.port;
  try {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./serve_worker.ts", import.meta.url).href, {
        type: "module",
        name: `sluice-serve-${i + 1}`,
      });
      workers.push(worker);
      const logPort = log.connect();
      const serve: ToServeWorker = {
        type: "serve",
        config,
        log: logPort,
        sinkNames: log.sinkNames,
        port,
      };
      worker.postMessage(serve, [logPort]);
      // The first isolate may bind port 0: the others join the port it got.
      port = await answer(worker, "listening").then((m) => (m as { port: number }).port);
    }
  } catch (error) {
    for (const worker of workers) worker.terminate();
    await log.close(0);
    throw error;
  }
  // An isolate that fails later is reported (the others go on serving the port).
  workers.forEach((worker, i) => {
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      console.error(`sluice: serving isolate ${i + 1} failed: ${event.message}`);
    };
  });
  return {
    port,
    async stop(graceMs: number) {
      const stopped = workers.map((w) => answer(w, "stopped"));
      const stop: ToServeWorker = { type: "stop", graceMs };
      for (const worker of workers) worker.postMessage(stop);
      await Promise.allSettled(stopped);
      for (const worker of workers) worker.terminate();
      await log.close(config.server.shutdown_timeout_ms);
    },
  };
}

/** The isolate's next message of type `type`; rejects on `failed` or a crash. */
function answer(worker: Worker, type: FromServeWorker["type"]): Promise<FromServeWorker> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (message: MessageEvent<FromServeWorker>) => {
      if (message.data.type === type) resolve(message.data);
      else if (message.data.type === "failed") reject(new Error(message.data.message));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`a serving isolate failed: ${event.message}`));
    };
  });
}
