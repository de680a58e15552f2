/**
 * A serving isolate's entry: one `Deno.serve` on the shared port
 * (`reusePort`) over a gateway whose calls go to the log Worker through the
 * port it was given (`isolates.ts` starts and stops these).
 * @module
 */
/// <reference lib="deno.worker" />
import type { GatewayConfig } from "../config/types.ts";
import { PortLogHost } from "../log/host.ts";
import { crossError } from "../log/protocol.ts";
import { type Gateway, gatewayOn } from "./gateway.ts";

/** From the launching thread. */
export type ToServeWorker =
  | {
    type: "serve";
    /** A copy of the validated config (it carries its secrets and base directory). */
    config: GatewayConfig;
    log: MessagePort;
    sinkNames: string[];
    port: number;
  }
  | { type: "stop"; graceMs: number };

/** To the launching thread. */
export type FromServeWorker =
  | { type: "listening"; port: number }
  | { type: "failed"; message: string }
  | { type: "stopped" };

let gateway: Gateway | undefined;
let server: Deno.HttpServer<Deno.NetAddr> | undefined;

function post(message: FromServeWorker): void {
  self.postMessage(message);
}

self.onmessage = async (message: MessageEvent<ToServeWorker>) => {
  const data = message.data;
  if (data.type === "serve") {
    try {
      const config = data.config;
      gateway = gatewayOn(config, new PortLogHost(data.log, data.sinkNames));
      server = Deno.serve({
        hostname: config.server.host,
        port: data.port,
        reusePort: true,
        onListen: ({ port }) => post({ type: "listening", port }),
      }, gateway.fetch);
    } catch (error) {
      post({ type: "failed", message: crossError(error).message });
    }
    return;
  }
  // Stop: no new connections, drain the calls in flight, hand every finished call over.
  const drained = server?.shutdown();
  await gateway?.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, data.graceMs)))]);
  clearTimeout(timer);
  post({ type: "stopped" });
};
