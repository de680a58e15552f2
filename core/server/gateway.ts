/**
 * The gateway: one `fetch` handler. The dispatcher here routes a request to
 * the call handler (`call_handler.ts`: the proxied OpenAI routes) or answers
 * it itself (models, one model, health, metrics); finished calls go to the log side,
 * which runs in its own Worker, without awaiting anything.
 * @module
 */
import {
  checkConfig,
  configBaseDir,
  ConfigError,
  configSecrets,
  parseConfig,
} from "../config/load.ts";
import { isLiteLLMConfig } from "../config/litellm.ts";
import type { GatewayConfig, GatewayConfigInput } from "../config/types.ts";
import { type LogHost, startLogHost } from "../log/host.ts";
import { ModelRouter } from "../providers/router.ts";
import { randomUuid } from "../ids.ts";
import type { FinishedCallType } from "../log/call.ts";
import { KeyStore } from "./auth.ts";
import { CallHandler } from "./call_handler.ts";
import { HandOff } from "./handoff.ts";
import { modelIdOfPath, OperatorRoutes } from "./operator_routes.ts";
import { OTLP_PATHS, OtlpRoutes } from "./otlp_routes.ts";
import { type OtlpGrpcServer, startOtlpGrpc } from "./otlp_grpc.ts";
import { ConsoleRoutes } from "../console/console.ts";
import {
  jsonResponse,
  methodNotAllowed,
  responsesNotStored,
  shuttingDown,
  unknownRoute,
} from "./responses.ts";

/** A running gateway: mount `fetch` anywhere, `close()` to drain. */
export interface Gateway {
  /** Handles one HTTP request (bound: pass it around freely). */
  fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
  /** Stops accepting calls, waits for in-flight ones, flushes the sinks. */
  close: () => Promise<void>;
  /** The validated config in use. */
  readonly config: GatewayConfig;
  /** The OTLP/gRPC listener's port, when `server.otlp_grpc_port` is set. */
  readonly otlpGrpcPort?: number;
}

/** Each gateway's OTLP routes, for the gRPC listener {@link createGateway} starts. */
const OTLP_ROUTES = new WeakMap<Gateway, OtlpRoutes>();

const ROUTES: Record<string, FinishedCallType> = {
  "/v1/responses": "responses",
  "/responses": "responses",
  "/v1/messages": "messages",
  "/v1/chat/completions": "chat",
  "/chat/completions": "chat",
  "/v1/completions": "completion",
  "/completions": "completion",
  "/v1/embeddings": "embedding",
  "/embeddings": "embedding",
};

/** The path of a request URL without parsing the whole URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const path = query < 0 ? url.slice(start) : url.slice(start, query);
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * Creates a gateway from a config (a validated one from `loadConfig`, or a
 * plain object in the config's shape, validated here).
 *
 * @example
 * ```ts
 * import { createGateway } from "@sluice/core";
 * const gw = await createGateway({ models: [{ name: "m", provider: "mock" }] });
 * const res = await gw.fetch(new Request("http://x/v1/models"));
 * await res.body?.cancel();
 * await gw.close();
 * ```
 */
export async function createGateway(input: GatewayConfig | GatewayConfigInput): Promise<Gateway> {
  const config = await validated(input);
  // The log side (plugins, redaction, write-ahead logs) runs in its own Worker.
  const log = await startLogHost({
    config,
    baseDir: configBaseDir(config),
    secrets: [...configSecrets(config)],
  });
  const gateway = gatewayOn(config, log);
  const grpcPort = config.server.otlp_grpc_port;
  if (grpcPort === undefined) return gateway;
  let grpc: OtlpGrpcServer;
  try {
    grpc = await startOtlpGrpc({
      host: config.server.host,
      port: grpcPort,
      maxMessageBytes: config.server.max_body_bytes,
      routes: OTLP_ROUTES.get(gateway)!,
    });
  } catch (error) {
    await gateway.close();
    throw new Error(
      `server.otlp_grpc_port: cannot listen on ${config.server.host}:${grpcPort}: ${
        (error as Error).message
      }`,
    );
  }
  return {
    ...gateway,
    otlpGrpcPort: grpc.port,
    async close() {
      await grpc.close(config.server.shutdown_timeout_ms);
      await gateway.close();
    },
  };
}

/** A validated config from either shape (a LiteLLM one's plugins are imported to map its callbacks). */
async function validated(input: GatewayConfig | GatewayConfigInput): Promise<GatewayConfig> {
  if (!isLiteLLMConfig(input)) return parseConfig(input);
  const { config, problems } = await checkConfig(input);
  if (!config) throw new ConfigError("(object)", problems);
  return config;
}

/**
 * A gateway over a log side that is already running (`log`): a serving
 * isolate's, which shares the log Worker of another thread. `close()` closes
 * `log` too.
 */
export function gatewayOn(config: GatewayConfig, log: LogHost): Gateway {
  const router = new ModelRouter(config.models);
  const keys = new KeyStore(config);
  const handOff = new HandOff(log);
  const inflight = new InFlight();
  let closing: Promise<void> | undefined;
  const operator = new OperatorRoutes(keys, router, log, () => closing !== undefined);
  const otlp = new OtlpRoutes(config, keys, log, () => handOff.flush());
  // The console at /ui, when `ui:` is configured.
  const ui = config.ui ? new ConsoleRoutes(config, log) : undefined;
  const calls = new CallHandler({
    config,
    router,
    keys,
    allowedModels: (principal) => operator.allowedModels(principal),
    finish: (record, controls) => handOff.finish(record, controls),
    hold: () => inflight.hold(),
    release: () => inflight.release(),
  });

  async function handle(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const res = await route(req, info);
    // Calls carry their request id already; every other answer gets one of its own.
    if (!res.headers.has("x-request-id")) res.headers.set("x-request-id", randomUuid());
    return res;
  }

  async function route(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const path = pathOf(req.url);
    if (path === "/v1/messages/count_tokens") {
      return req.method === "POST"
        ? calls.countTokens(req)
        : methodNotAllowed(req.method, path, "POST");
    }
    if (OTLP_PATHS[path]) return closing ? shuttingDown() : await otlp.handle(req, path, info);
    const callType = ROUTES[path];
    if (callType) {
      if (req.method !== "POST") return methodNotAllowed(req.method, path, "POST");
      if (closing) return shuttingDown();
      inflight.hold();
      try {
        return await calls.handle(req, info, callType);
      } finally {
        inflight.release();
      }
    }
    switch (path) {
      case "/v1/models":
      case "/models":
        return req.method === "GET"
          ? operator.models(req)
          : methodNotAllowed(req.method, path, "GET");
      case "/health/liveness":
        return jsonResponse(200, { status: "ok" });
      case "/health/readiness":
        return operator.readiness(req);
      case "/metrics":
        return operator.metrics(req);
    }
    const modelId = modelIdOfPath(path);
    if (modelId !== undefined) {
      return req.method === "GET"
        ? operator.model(req, modelId)
        : methodNotAllowed(req.method, path, "GET");
    }
    if (ui && (path === "/ui" || path.startsWith("/ui/"))) return ui.handle(req, info, path);
    if (/^(\/v1)?\/responses\/./.test(path)) return responsesNotStored(req.method, path);
    return unknownRoute(req.method, path);
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const deadline = config.server.shutdown_timeout_ms;
      await inflight.drained(deadline);
      ui?.close();
      router.close();
      handOff.flush();
      await log.close(deadline);
    })();
    return closing;
  }

  const gateway: Gateway = { fetch: handle, close, config };
  OTLP_ROUTES.set(gateway, otlp);
  return gateway;
}

/** Calls (and open streams) in flight, and a wait for them to end. */
class InFlight {
  #count = 0;
  #idle?: () => void;

  hold(): void {
    this.#count++;
  }

  release(): void {
    this.#count--;
    if (this.#count === 0) this.#idle?.();
  }

  /** Resolves when none is in flight, or after `deadlineMs`. */
  async drained(deadlineMs: number): Promise<void> {
    if (this.#count === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.#idle = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(timer);
  }
}
