/**
 * Routes a public model name to its deployments: round-robin across entries
 * that share a name, a deadline per attempt, and retries (on the next
 * deployment) for connection errors and 5xx before any byte reached the client.
 * @module
 */
import { createHash } from "node:crypto";
import type { ModelConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import { anthropicProvider } from "./anthropic.ts";
import { mockProvider } from "./mock.ts";
import { azureProvider, OPENAI_API_BASE, openaiProvider } from "./openai.ts";
import type { Deployment, Provider, UpstreamRequest, UpstreamResponse } from "./types.ts";
import { Deadlines } from "./deadlines.ts";

const PROVIDERS: Record<ModelConfig["provider"], Provider> = {
  openai: openaiProvider,
  azure: azureProvider,
  anthropic: anthropicProvider,
  mock: mockProvider,
};

const DEFAULT_BASES: Record<ModelConfig["provider"], string> = {
  openai: OPENAI_API_BASE,
  azure: "",
  anthropic: "https://api.anthropic.com",
  mock: "mock://",
};

/** Builds the serving form of a `models:` entry. */
export function toDeployment(config: ModelConfig): Deployment {
  const upstreamModel = config.model ?? config.name;
  const base = (config.api_base ?? DEFAULT_BASES[config.provider]).split("?")[0];
  const id = config.id ??
    createHash("sha256").update(`${config.provider}\n${upstreamModel}\n${base}`).digest("hex")
      .slice(0, 12);
  return { config, id, upstreamModel, apiBase: base };
}

/** A successful upstream answer and what it took to get it. */
export interface RoutedResponse {
  /** The deployment that answered. */
  deployment: Deployment;
  /** Its answer (2xx, or a 4xx to pass through). */
  response: UpstreamResponse;
  /** Milliseconds spent waiting on the upstream (all attempts). */
  upstreamMs: number;
  /** Call when the response body is done (clears the deadline). */
  done: () => void;
}

/** Thrown when the client went away; no response is written. */
export class ClientClosedError extends Error {
  /** Stable code. */
  readonly code = "client_closed_request";
  /** Creates the error. */
  constructor() {
    super("client closed the request");
    this.name = "ClientClosedError";
  }
}

/** Details of a failed upstream call, attached to the thrown {@link GatewayError}. */
export interface UpstreamFailure {
  /** The last deployment tried. */
  deployment: Deployment;
  /** Milliseconds spent on the upstream. */
  upstreamMs: number;
}

/** Maps public model names to deployments and sends requests with retries. */
export class ModelRouter {
  readonly #groups = new Map<string, Deployment[]>();
  readonly #next = new Map<string, number>();
  readonly #deadlines = new Deadlines();

  /** Creates a router over the config's `models:` list. */
  constructor(models: readonly ModelConfig[]) {
    for (const model of models) {
      const group = this.#groups.get(model.name) ?? [];
      group.push(toDeployment(model));
      this.#groups.set(model.name, group);
    }
  }

  /** Public model names, in config order. */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /** Stops the deadline timer (at gateway shutdown). */
  close(): void {
    this.#deadlines.stop();
  }

  /** The deployments serving a public name (empty if unknown). */
  deployments(name: string): readonly Deployment[] {
    return this.#groups.get(name) ?? [];
  }

  /**
   * Sends a request to the deployments of `name`. Returns 2xx and 4xx
   * answers; throws {@link GatewayError} 502/504 (with `.cause` set to an
   * {@link UpstreamFailure}) or {@link ClientClosedError}.
   */
  async send(
    name: string,
    request: Omit<UpstreamRequest, "signal">,
    clientSignal: AbortSignal,
    onDeployment?: (deployment: Deployment) => void,
  ): Promise<RoutedResponse> {
    const group = this.#groups.get(name)!;
    const start = this.#next.get(name) ?? 0;
    this.#next.set(name, (start + 1) % group.length);
    const maxRetries = group[start].config.max_retries;
    let upstreamMs = 0;
    for (let attempt = 0;; attempt++) {
      const deployment = group[(start + attempt) % group.length];
      onDeployment?.(deployment);
      const deadline = this.#deadlines.start(deployment.config.timeout_s * 1000);
      // The upstream call aborts at the deadline or when the client goes away.
      const onClientAbort = () => deadline.controller.abort(clientSignal.reason);
      if (clientSignal.aborted) onClientAbort();
      else clientSignal.addEventListener("abort", onClientAbort, { once: true });
      const finish = () => {
        this.#deadlines.clear(deadline);
        clientSignal.removeEventListener("abort", onClientAbort);
      };
      const signal = deadline.controller.signal;
      const t0 = performance.now();
      let failure: GatewayError;
      try {
        const response = await PROVIDERS[deployment.config.provider].send(deployment, {
          ...request,
          signal,
        });
        upstreamMs += performance.now() - t0;
        if (response.status < 500) {
          if (!response.stream) finish();
          return { deployment, response, upstreamMs, done: () => finish() };
        }
        finish();
        failure = upstreamError(deployment, response, upstreamMs);
      } catch (error) {
        finish();
        upstreamMs += performance.now() - t0;
        if (clientSignal.aborted) throw new ClientClosedError();
        failure = deadline.controller.signal.aborted
          ? new GatewayError(
            504,
            "timeout_error",
            "upstream_timeout",
            `upstream ${deployment.apiBase} did not answer within ${deployment.config.timeout_s} s`,
            { cause: { deployment, upstreamMs } satisfies UpstreamFailure },
          )
          : new GatewayError(
            502,
            "api_error",
            "upstream_unreachable",
            `cannot reach upstream ${deployment.apiBase}: ${describeFetchError(error)}`,
            { cause: { deployment, upstreamMs } satisfies UpstreamFailure },
          );
        if (failure.status === 504) throw failure;
      }
      if (attempt >= maxRetries) throw failure;
      await backoff(attempt, clientSignal);
      if (clientSignal.aborted) throw new ClientClosedError();
    }
  }
}

function upstreamError(
  deployment: Deployment,
  response: UpstreamResponse,
  upstreamMs: number,
): GatewayError {
  const body = response.json as { error?: { message?: unknown } | string } | undefined;
  const inner = typeof body?.error === "string" ? body.error : body?.error?.message;
  const detail = typeof inner === "string" ? `: ${inner.slice(0, 500)}` : "";
  return new GatewayError(
    502,
    "api_error",
    "upstream_error",
    `upstream ${deployment.apiBase} returned ${response.status}${detail}`,
    { cause: { deployment, upstreamMs } satisfies UpstreamFailure, upstreamBody: response.json },
  );
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return (error.message + cause).slice(0, 300);
}

function backoff(attempt: number, signal: AbortSignal): Promise<void> {
  const ms = Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
