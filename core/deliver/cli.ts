/**
 * The `deliver` subcommand: `deno run -A mod.ts deliver --config gateway.yaml
 * [--port 9464]`. Runs a {@link DeliveryWorker} for the config's stream
 * transport and serves `/metrics` (consume counters, stream size, lag per
 * sink) and `/health/liveness`, `/health/readiness` on the port.
 * @module
 */
import { parseArgs } from "node:util";
import { checkConfig, checkConfigFile } from "../config/load.ts";
import { configBaseDir, configScrubber, configSecrets, formatProblem } from "../config/load.ts";
import { EMBEDDED_DEFAULT_CONFIG } from "../config/default.ts";
import { type ResolvedTransport, resolveTransport } from "../transport/options.ts";
import { openTransport } from "../transport/open.ts";
import { maskSecrets } from "../loader/secrets.ts";
import type { LogTransport } from "../transport/types.ts";
import { DeliveryWorker } from "./worker.ts";

/** The `deliver` subcommand's help text. */
export const DELIVER_HELP = `Usage:
  deno run -A mod.ts deliver --config gateway.yaml [options]

Reads the log stream of the config's log.transport (nats or redis) and
delivers each sink's events with the config's sink plugins. Run any number,
on any machine: each sink's consumer group is shared.

Options:
  --config FILE     gateway.yaml (the gateways' own; log.transport.kind nats or redis)
  --host HOST       metrics address (default 127.0.0.1)
  --port PORT       metrics port: /metrics, /health/liveness, /health/readiness (default 9464; 0: any)
  --data-dir DIR    plugin cache and local files of sinks (default: server.data_dir)
  --replay-dead-letters
                    move the dead letters back to their sinks' streams, then exit
                    (once the fault that sent them there is fixed)
  --sink NAME       with --replay-dead-letters: only this sink's
  --help            print this help
`;

/**
 * Runs `deliver` until SIGINT or SIGTERM.
 *
 * @param args The arguments after `deliver`.
 * @returns The exit code.
 */
export async function runDeliver(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "data-dir": { type: "string" },
        "replay-dead-letters": { type: "boolean" },
        sink: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    console.error(`sluice deliver: ${(error as Error).message}\n\n${DELIVER_HELP}`);
    return 2;
  }
  if (flags.help) {
    console.log(DELIVER_HELP);
    return 0;
  }
  const source = flags.config ?? "(embedded default)";
  const check = flags.config
    ? await checkConfigFile(flags.config)
    : await checkConfig(EMBEDDED_DEFAULT_CONFIG);
  if (!check.config) {
    console.error(`sluice deliver: invalid config ${source}:`);
    for (const p of check.problems.filter((p) => p.severity === "error")) {
      console.error(`  ${formatProblem(p)}`);
    }
    return 1;
  }
  const config = check.config;
  if (flags["data-dir"]) config.server.data_dir = flags["data-dir"];
  const port = flags.port === undefined ? 9464 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`sluice deliver: --port: expected 0-65535, got "${flags.port}"`);
    return 2;
  }
  const scrub = configScrubber(config);
  const environment = config.environment;
  let transport;
  try {
    transport = resolveTransport(
      config.log.transport,
      (name) => Object.hasOwn(environment, name) ? environment[name] : Deno.env.get(name),
    );
  } catch (error) {
    console.error(`sluice deliver: invalid config ${source}: ${(error as Error).message}`);
    return 1;
  }
  if (!transport) {
    console.error(
      `sluice deliver: ${source}: log.transport.kind is "local" (the gateway delivers itself); ` +
        "set it to nats or redis for delivery workers",
    );
    return 1;
  }
  if (flags["replay-dead-letters"]) return await replay(transport, flags.sink, scrub.text);
  let worker: DeliveryWorker;
  try {
    worker = await DeliveryWorker.start({
      config,
      transport,
      baseDir: configBaseDir(config),
      secrets: [...configSecrets(config)],
    });
  } catch (error) {
    console.error(`sluice deliver: cannot start: ${scrub.text((error as Error).message)}`);
    return 1;
  }
  const server = Deno.serve({
    hostname: flags.host ?? "127.0.0.1",
    port,
    onListen({ hostname, port }) {
      console.error(
        `sluice deliver: metrics on http://${hostname}:${port}/metrics (config: ${source}; sinks: ${
          worker.sinkNames.join(", ") || "none"
        })`,
      );
    },
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(worker.metricsText(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    if (path === "/health/liveness") return new Response("ok");
    if (path === "/health/readiness") {
      return new Response(worker.connected ? "ready" : "connecting", {
        status: worker.connected ? 200 : 503,
      });
    }
    return new Response("not found", { status: 404 });
  });
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`sluice deliver: ${signal}: finishing the batches in flight`);
    worker.close(config.server.shutdown_timeout_ms)
      .then(() => server.shutdown())
      .then(stopped.resolve, stopped.reject);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  await stopped.promise;
  return 0;
}

/** `--replay-dead-letters`: moves the dead letters back, says how many, exits. */
async function replay(
  resolved: ResolvedTransport,
  sink: string | undefined,
  scrub: (text: string) => string,
): Promise<number> {
  let transport: LogTransport | undefined;
  try {
    transport = await openTransport(resolved.kind, resolved.options);
    const moved = await transport.replayDeadLetters(sink);
    console.error(
      `sluice deliver: moved ${moved} dead letters back to ${
        sink ? `sink "${sink}"'s stream` : "their sinks' streams"
      }`,
    );
    return 0;
  } catch (error) {
    const message = maskSecrets(scrub((error as Error).message), resolved.secrets);
    console.error(`sluice deliver: replay failed: ${message}`);
    return 1;
  } finally {
    await transport?.close();
  }
}
