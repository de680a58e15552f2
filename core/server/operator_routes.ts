/**
 * The routes that are not calls: the model list and one model (what a key
 * may use; a model it may not use answers like one that does not exist),
 * health (liveness says nothing; readiness details and `/metrics` need the
 * master key or `server.metrics_key`).
 * @module
 */
import type { GatewayError } from "../errors.ts";
import type { LogHost } from "../log/host.ts";
import type { ModelRouter } from "../providers/router.ts";
import { VERSION } from "../version.ts";
import { keyAllowsModel, type KeyStore, type Principal } from "./auth.ts";
import { errorResponse, jsonResponse, respond, unknownModel } from "./responses.ts";

const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The model id of a `GET /v1/models/{id}` (or `/models/{id}`) path, URL-decoded
 * (an id may hold `/`, sent raw or as `%2F`), else undefined.
 *
 * @example
 * ```ts
 * import { modelIdOfPath } from "./operator_routes.ts";
 * console.assert(modelIdOfPath("/v1/models/openai%2Fgpt-4o") === "openai/gpt-4o");
 * console.assert(modelIdOfPath("/v1/models") === undefined);
 * ```
 */
export function modelIdOfPath(path: string): string | undefined {
  const prefix = path.startsWith("/v1/models/") ? 11 : path.startsWith("/models/") ? 8 : 0;
  if (prefix === 0 || path.length === prefix) return undefined;
  const raw = path.slice(prefix);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // not valid percent-encoding: the id as written
  }
}

/** Models, readiness and metrics for one gateway. */
export class OperatorRoutes {
  readonly #keys: KeyStore;
  readonly #router: ModelRouter;
  readonly #log: LogHost;
  readonly #closing: () => boolean;

  /** Routes over the gateway's keys, router and log side; `closing` tells whether it drains. */
  constructor(keys: KeyStore, router: ModelRouter, log: LogHost, closing: () => boolean) {
    this.#keys = keys;
    this.#router = router;
    this.#log = log;
    this.#closing = closing;
  }

  /**
   * The public model names a caller may use, as `GET /v1/models` lists them:
   * the configured names (wildcard patterns as written) its key admits,
   * then the names its `models:` list spells out that only a wildcard
   * entry serves.
   */
  allowedModels(principal: Principal): string[] {
    const names = this.#router.names();
    const key = principal.key;
    if (!key?.models) return names;
    const listed = names.filter((n) => keyAllowsModel(key, n));
    for (const name of key.models) {
      if (!listed.includes(name) && this.#router.servingName(name) !== undefined) {
        listed.push(name);
      }
    }
    return listed;
  }

  /** `GET /v1/models`: the key's models, in OpenAI's list shape. */
  models(req: Request): Response {
    let principal: Principal;
    try {
      principal = this.#keys.authenticate(req.headers);
    } catch (error) {
      return errorResponse(error as GatewayError);
    }
    const created = Math.floor(Date.now() / 1000);
    return jsonResponse(200, {
      object: "list",
      data: this.allowedModels(principal).map((id) => this.#modelObject(id, created)),
    });
  }

  /**
   * `GET /v1/models/{id}`: the OpenAI `Model` object for a name the caller
   * may use (a listed one, or any name a wildcard serves that its key
   * admits), else the 404 `model_not_found` a call to it would get.
   */
  model(req: Request, id: string): Response {
    let principal: Principal;
    try {
      principal = this.#keys.authenticate(req.headers);
    } catch (error) {
      return errorResponse(error as GatewayError);
    }
    if (this.#router.servingName(id) === undefined || !keyAllowsModel(principal.key, id)) {
      return errorResponse(unknownModel(id, this.allowedModels(principal)));
    }
    return jsonResponse(200, this.#modelObject(id, Math.floor(Date.now() / 1000)));
  }

  /** OpenAI's `Model` object for a name the router serves. */
  #modelObject(id: string, created: number) {
    return {
      id,
      object: "model",
      created,
      owned_by: this.#router.deployments(id)[0].config.provider,
    };
  }

  /** Ready or shutting down for anyone; version and sinks only for the master or metrics key. */
  readiness(req: Request): Response {
    const closing = this.#closing();
    const status = closing ? 503 : 200;
    const body = { status: closing ? "shutting_down" : "ready" };
    try {
      this.#keys.authorizeOperator(req.headers);
    } catch {
      return jsonResponse(status, body);
    }
    return jsonResponse(status, { ...body, version: VERSION, sinks: this.#log.sinkNames });
  }

  /** `GET /metrics` (Prometheus text), for the master or metrics key. */
  async metrics(req: Request): Promise<Response> {
    try {
      this.#keys.authorizeOperator(req.headers);
    } catch (error) {
      return errorResponse(error as GatewayError);
    }
    return respond(await this.#log.metrics(), 200, { "content-type": METRICS_TYPE });
  }
}
