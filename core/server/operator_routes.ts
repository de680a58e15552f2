/**
 * The routes that are not calls: the model list (what a key may use),
 * health (liveness says nothing; readiness details and `/metrics` need the
 * master key or `server.metrics_key`).
 * @module
 */
import type { GatewayError } from "../errors.ts";
import type { LogHost } from "../log/host.ts";
import type { ModelRouter } from "../providers/router.ts";
import { VERSION } from "../version.ts";
import type { KeyStore, Principal } from "./auth.ts";
import { errorResponse, jsonResponse, respond } from "./responses.ts";

const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

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

  /** The public model names a caller may use. */
  allowedModels(principal: Principal): string[] {
    const names = this.#router.names();
    const allowed = principal.key?.models;
    return allowed ? names.filter((n) => allowed.includes(n)) : names;
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
      data: this.allowedModels(principal).map((id) => ({
        id,
        object: "model",
        created,
        owned_by: this.#router.deployments(id)[0].config.provider,
      })),
    });
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
