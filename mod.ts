/**
 * Sluice: the CLI (`deno run -A mod.ts [--config gateway.yaml]`) and a
 * re-export of the core's public API for library use.
 *
 * @example
 * ```ts
 * import { createGateway } from "./mod.ts"; // or loadConfig("gateway.yaml") for the config
 * const gw = await createGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, gw.fetch);
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/v1/models`);
 * console.log((await res.json()).data[0].id); // "mock-gpt"
 * await server.shutdown();
 * await gw.close();
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import {
  checkConfig,
  checkConfigFile,
  type ConfigCheck,
  configJsonSchema,
  createGateway,
  EMBEDDED_DEFAULT_CONFIG,
  formatProblem,
  type GatewayConfig,
  VERSION,
} from "./core/mod.ts";
import { configBaseDir, configScrubber, configSecrets } from "./core/config/load.ts";
import { checkSinkConfigs } from "./core/loader/check.ts";
import { serveIsolates } from "./core/server/isolates.ts";
import { runDeliver } from "./core/deliver/cli.ts";
import { resolveTransport, TransportConfigError } from "./core/transport/options.ts";

export * from "./core/mod.ts";

const HELP = `sluice ${VERSION}: an OpenAI-compatible LLM gateway

Usage:
  deno run -A mod.ts [options]
  deno run -A mod.ts deliver --config FILE [--port PORT]   (a delivery worker; see deliver --help)

With no --config, serves the embedded default: mock models mock-gpt and
mock-embed, a console sink and a JSONL sink under ./.sluice/logs/.

Options:
  --config FILE     gateway.yaml (Sluice's native shape)
  --host HOST       listen address (default: server.host, 127.0.0.1)
  --port PORT       listen port (default: server.port, 4000)
  --data-dir DIR    logs, spool and plugin cache (default: server.data_dir, ./.sluice)
  --check           validate the config, list every problem; exit 1 on errors, 0 on warnings only
  --print-schema    print the config's JSON Schema (for editor autocompletion)
  --version         print the version
  --help            print this help
`;

/** Parses the command line; throws on unknown flags. */
function parseCli(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "data-dir": { type: "string" },
      check: { type: "boolean" },
      "print-schema": { type: "boolean" },
      version: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
}

/** After the drain, how long responses still being written get before connections are closed. */
const CONNECTION_GRACE_MS = 1_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fail(message: string): never {
  console.error(`sluice: ${message}`);
  Deno.exit(2);
}

/** Runs the CLI; returns the exit code (or never returns while serving). */
async function main(args: string[]): Promise<number> {
  if (args[0] === "deliver") return await runDeliver(args.slice(1));
  let flags: ReturnType<typeof parseCli>;
  try {
    flags = parseCli(args);
  } catch (error) {
    fail(`${(error as Error).message}\n\n${HELP}`);
  }
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (flags.version) {
    console.log(`sluice ${VERSION}`);
    return 0;
  }
  if (flags["print-schema"]) {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
    return 0;
  }

  const source = flags.config ?? "(embedded default)";
  const check: ConfigCheck = flags.config
    ? await checkConfigFile(flags.config)
    : await checkConfig(EMBEDDED_DEFAULT_CONFIG);
  if (flags.check && check.config) {
    // Each sink's plugin config too, against the plugin's own schema, as startup would.
    check.problems.push(
      ...await checkSinkConfigs(
        check.config.sinks,
        configBaseDir(check.config),
        configSecrets(check.config),
      ),
    );
    // The log stream's URL as start would resolve it (REDIS_* fallbacks included).
    try {
      const environment = check.config.environment;
      resolveTransport(
        check.config.log.transport,
        (name) => Object.hasOwn(environment, name) ? environment[name] : Deno.env.get(name),
      );
    } catch (error) {
      if (!(error instanceof TransportConfigError)) throw error;
      const message = error.message.slice(error.path.length + 2);
      check.problems.push({ path: error.path, severity: "error", message });
    }
  }
  const errors = check.problems.filter((p) => p.severity === "error");
  const warnings = check.problems.filter((p) => p.severity === "warning");
  if (flags.check) {
    for (const p of check.problems) console.log(`${p.severity}: ${formatProblem(p)}`);
    console.log(
      `${source}: ${errors.length} error(s), ${warnings.length} warning(s)` +
        (errors.length ? "" : " — config is valid"),
    );
    return errors.length ? 1 : 0;
  }
  if (!check.config) {
    console.error(`sluice: invalid config ${source}:`);
    for (const p of errors) console.error(`  ${formatProblem(p)}`);
    return 1;
  }
  for (const p of warnings) console.error(`sluice: warning: ${formatProblem(p)}`);

  const config: GatewayConfig = check.config;
  if (flags.host) config.server.host = flags.host;
  if (flags.port !== undefined) {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      fail(`--port: expected 0-65535, got "${flags.port}"`);
    }
    config.server.port = port;
  }
  if (flags["data-dir"]) config.server.data_dir = flags["data-dir"];

  // What the CLI prints may quote any credential of the config (a plugin's failure, a
  // sink's `use:` URL): it goes through the gateway's one scrubber.
  const scrub = configScrubber(config);
  const onListen = ({ hostname, port }: { hostname: string; port: number }) => {
    const models = [...new Set(config.models.map((m) => m.name))].join(", ");
    const isolates = config.server.workers > 1 ? `, ${config.server.workers} serving isolates` : "";
    console.error(
      `sluice ${VERSION} listening on http://${hostname}:${port} (config: ${source}${isolates})`,
    );
    console.error(
      `  models: ${models || "none"}; sinks: ${
        scrub.text(config.sinks.map((s) => s.name ?? s.use).join(", ")) || "none"
      }`,
    );
    if (config.ui) console.error(`  console: http://${hostname}:${port}/ui`);
    if (!flags.config) {
      console.error(
        `  try: curl -s http://${hostname}:${port}/v1/chat/completions -H 'content-type: application/json' ` +
          `-d '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello"}]}'`,
      );
    }
  };
  let shutdown: () => Promise<void>;
  try {
    shutdown = config.server.workers > 1
      ? await serveIsolatesOn(config, onListen)
      : await serveHere(config, onListen);
  } catch (error) {
    console.error(`sluice: cannot start: ${scrub.text((error as Error).message)}`);
    return 1;
  }

  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`sluice: ${signal}: finishing in-flight requests and flushing sinks`);
    shutdown().then(stopped.resolve, stopped.reject);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  await stopped.promise;
  return 0;
}

type OnListen = (addr: { hostname: string; port: number }) => void;

/** One gateway on this thread (its log side in a Worker); returns its shutdown. */
async function serveHere(config: GatewayConfig, onListen: OnListen): Promise<() => Promise<void>> {
  const gateway = await createGateway(config);
  if (gateway.otlpGrpcPort !== undefined) {
    console.error(`sluice: OTLP/gRPC on ${config.server.host}:${gateway.otlpGrpcPort}`);
  }
  const server = Deno.serve(
    { hostname: config.server.host, port: config.server.port, onListen },
    gateway.fetch,
  );
  // Deno's graceful shutdown waits for every connection, even one whose client never
  // finishes its request body: after the drain and a grace, exiting closes those.
  return async () => {
    const drained = server.shutdown();
    await gateway.close();
    await Promise.race([drained, delay(CONNECTION_GRACE_MS)]);
  };
}

/** `server.workers` serving isolates on one port and one log Worker; returns their shutdown. */
async function serveIsolatesOn(
  config: GatewayConfig,
  onListen: OnListen,
): Promise<() => Promise<void>> {
  if (config.server.otlp_grpc_port !== undefined) {
    console.error(
      "sluice: warning: server.otlp_grpc_port is served with server.workers: 1 only; " +
        "OTLP over HTTP (/v1/traces, /v1/logs) works on every isolate",
    );
  }
  const isolates = await serveIsolates(config, config.server.workers);
  onListen({ hostname: config.server.host, port: isolates.port });
  return () => isolates.stop(CONNECTION_GRACE_MS);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
