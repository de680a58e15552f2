/**
 * The gateway: one `fetch` handler. The dispatcher here routes a request to
 * the call handler (`call_handler.ts`: the proxied OpenAI routes) or answers
 * it itself (models, health, metrics); finished calls go to the log side,
 * which runs in its own Worker, without awaiting anything.
 * @module
 */
import { configBaseDir, configSecrets, parseConfig } from "../config/load.ts";
import type { GatewayConfig, GatewayConfigInput } from "../config/types.ts";
import type { GatewayError } from "../errors.ts";
import { type LogHost, startLogHost } from "../log/host.ts";
import { ModelRouter } from "../providers/router.ts";
import type { ProxyCallType } from "../providers/types.ts";
import { VERSION } from "../version.ts";
import { KeyStore, type Principal } from "./auth.ts";
import { CallHandler } from "./call_handler.ts";
import { HandOff } from "./handoff.ts";
import {
  errorResponse,
  jsonResponse,
  methodNotAllowed,
  respond,
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
}

const ROUTES: Record<string, ProxyCallType> = {
  "/v1/chat/completions": "chat",
  "/chat/completions": "chat",
  "/v1/completions": "completion",
  "/completions": "completion",
  "/v1/embeddings": "embedding",
  "/embeddings": "embedding",
};

const METRICS_TYPE = { "content-type": "text/plain; version=0.0.4; charset=utf-8" };

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
  const config = parseConfig(input);
  // The log side (plugins, redaction, write-ahead logs) runs in its own Worker.
  const log = await startLogHost({
    config,
    baseDir: configBaseDir(config),
    secrets: [...configSecrets(config)],
  });
  return gatewayOn(config, log);
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
  let inflight = 0;
  let closing: Promise<void> | undefined;
  let idle: (() => void) | undefined;

  const release = () => {
    inflight--;
    if (inflight === 0) idle?.();
  };
  const allowedModels = (principal: Principal) => {
    const names = router.names();
    const allowed = principal.key?.models;
    return allowed ? names.filter((n) => allowed.includes(n)) : names;
  };
  const calls = new CallHandler({
    config,
    router,
    keys,
    allowedModels,
    finish: (record, controls) => handOff.finish(record, controls),
    hold: () => inflight++,
    release,
  });

  /** The key's models, OpenAI's list shape. */
  function listModels(req: Request): Response {
    let principal: Principal;
    try {
      principal = keys.authenticate(req.headers);
    } catch (error) {
      return errorResponse(error as GatewayError);
    }
    const created = Math.floor(Date.now() / 1000);
    return jsonResponse(200, {
      object: "list",
      data: allowedModels(principal).map((id) => ({
        id,
        object: "model",
        created,
        owned_by: router.deployments(id)[0].config.provider,
      })),
    });
  }

  /** Ready or shutting down for anyone; version and sinks only for the master or metrics key. */
  function readiness(req: Request): Response {
    const status = closing ? 503 : 200;
    const body = { status: closing ? "shutting_down" : "ready" };
    try {
      keys.authorizeOperator(req.headers);
    } catch {
      return jsonResponse(status, body);
    }
    return jsonResponse(status, { ...body, version: VERSION, sinks: log.sinkNames });
  }

  async function metrics(req: Request): Promise<Response> {
    try {
      keys.authorizeOperator(req.headers);
    } catch (error) {
      return errorResponse(error as GatewayError);
    }
    return respond(await log.metrics(), 200, { ...METRICS_TYPE });
  }

  async function handle(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const path = pathOf(req.url);
    const callType = ROUTES[path];
    if (callType) {
      if (req.method !== "POST") return methodNotAllowed(req.method, path, "POST");
      if (closing) return shuttingDown();
      inflight++;
      try {
        return await calls.handle(req, info, callType);
      } finally {
        release();
      }
    }
    switch (path) {
      case "/v1/models":
      case "/models":
        return req.method === "GET" ? listModels(req) : methodNotAllowed(req.method, path, "GET");
      case "/health/liveness":
        return jsonResponse(200, { status: "ok" });
      case "/health/readiness":
        return readiness(req);
      case "/metrics":
        return metrics(req);
    }
    return unknownRoute(req.method, path);
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const deadline = config.server.shutdown_timeout_ms;
      if (inflight > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline))),
        ]);
        clearTimeout(timer);
      }
      router.close();
      handOff.flush();
      await log.close(deadline);
    })();
    return closing;
  }

  return { fetch: handle, close, config };
}
