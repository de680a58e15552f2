/**
 * Routes a public model name to its deployments: round-robin across entries
 * that share a name, a deadline per attempt, and retries (on the next
 * deployment) for connection errors and 5xx before any byte reached the client.
 * A name no entry names exactly goes to the most specific wildcard entry
 * that matches it (`*`, `openai/*`: {@link ModelNames}), whose upstream
 * model is filled in from the requested name ({@link upstreamModelFor}).
 * A 5xx's `Retry-After` is waited for before retrying the same deployment
 * when it fits {@link MAX_RETRY_AFTER_MS}, and ends the retries otherwise; a
 * 2xx the gateway cannot read is a 502 that is never retried.
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
import { pathPartOf } from "./http.ts";
import { isModelPattern, ModelNames, upstreamModelFor } from "./model_pattern.ts";
import { displayUrl, parseRetryAfter } from "../sink_http.ts";
import { scrubCredentials } from "../redaction/scrub.ts";
import { pause } from "../deadline.ts";

/**
 * The longest `Retry-After` waited for before retrying the same deployment
 * (never more than its `timeout_s`); a longer one ends the retries, and the
 * client gets it on the final answer.
 */
export const MAX_RETRY_AFTER_MS = 10_000;

/**
 * Requested names whose wildcard deployments are kept (the least recently
 * used goes first): a name keeps one deployment object per entry while it
 * is kept, so per-deployment caches (prices) stay warm.
 */
export const MAX_MATCHED_NAMES = 1024;

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
  const base = shownBase(config.api_base ?? DEFAULT_BASES[config.provider]);
  const id = config.id ??
    createHash("sha256").update(`${config.provider}\n${upstreamModel}\n${base}`).digest("hex")
      .slice(0, 12);
  return { config, id, upstreamModel, apiBase: base };
}

/**
 * An `api_base` as headers, messages and events show it: without user info,
 * query or fragment ({@link displayUrl}); one without any of those is shown
 * as written.
 */
export function shownBase(base: string): string {
  if (!/[?#]|^[^/?#]*\/\/[^/?#]*@/.test(base)) return base;
  const shown = displayUrl(base);
  // displayUrl writes an empty path as "/": keep the operator's spelling.
  return shown.endsWith("/") && !pathPartOf(base).endsWith("/") ? shown.slice(0, -1) : shown;
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

/** Timing and `Retry-After` of a failed upstream call, set on the thrown {@link GatewayError}. */
interface UpstreamFailure {
  /** Milliseconds spent on the upstream. */
  upstreamMs: number;
  /** The last answer's `Retry-After`, passed on to the client. */
  retryAfter?: string;
}

/** One attempt's outcome: the upstream's answer, or what was thrown. */
interface Attempt {
  /** The answer, when one came. */
  response?: UpstreamResponse;
  /** What the adapter threw, when no answer came. */
  error?: unknown;
  /** Whether the deadline fired. */
  timedOut: boolean;
  /** Milliseconds it took. */
  ms: number;
  /** Clears the deadline and the client-abort listener. */
  finish: () => void;
}

/** Maps public model names (exact ones and wildcards) to deployments and sends requests with retries. */
export class ModelRouter {
  /** Deployments by configured name (wildcard entries under their pattern), in config order. */
  readonly #groups = new Map<string, Deployment[]>();
  /** Routes of the exact (non-pattern) names, built once: the hot path allocates nothing. */
  readonly #exact = new Map<string, { group: string; deployments: Deployment[] }>();
  readonly #names: ModelNames;
  /** Requested names served by a wildcard: their deployments, upstream model filled in. */
  readonly #matched = new Map<string, { group: string; deployments: Deployment[] }>();
  readonly #next = new Map<string, number>();
  readonly #deadlines = new Deadlines();

  /** Creates a router over the config's `models:` list. */
  constructor(models: readonly ModelConfig[]) {
    for (const model of models) {
      const group = this.#groups.get(model.name) ?? [];
      group.push(toDeployment(model));
      this.#groups.set(model.name, group);
    }
    for (const [group, deployments] of this.#groups) {
      if (!isModelPattern(group)) this.#exact.set(group, { group, deployments });
    }
    this.#names = new ModelNames(this.#groups.keys());
  }

  /** Public model names as configured (wildcard patterns included), in config order. */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /** Stops the deadline timer (at gateway shutdown). */
  close(): void {
    this.#deadlines.stop();
  }

  /**
   * The deployments serving a requested name (empty if none): the entries
   * named exactly so, else those of the most specific matching wildcard,
   * each with the upstream model for this name.
   */
  deployments(name: string): readonly Deployment[] {
    return this.#route(name)?.deployments ?? [];
  }

  /** The configured name (or pattern) whose entries serve `name`, if any. */
  servingName(name: string): string | undefined {
    return this.#route(name)?.group;
  }

  #route(name: string): { group: string; deployments: Deployment[] } | undefined {
    const exact = this.#exact.get(name);
    if (exact || !this.#names.hasPatterns) return exact;
    const cached = this.#matched.get(name);
    if (cached) {
      // Most recently used last: the first key is the one to evict.
      this.#matched.delete(name);
      this.#matched.set(name, cached);
      return cached;
    }
    const match = this.#names.matchPattern(name);
    if (!match) return undefined;
    const routed = {
      group: match.pattern.name,
      deployments: this.#groups.get(match.pattern.name)!.map((d) => ({
        ...d,
        upstreamModel: upstreamModelFor(d.upstreamModel, match.segments, name),
      })),
    };
    if (this.#matched.size >= MAX_MATCHED_NAMES) {
      this.#matched.delete(this.#matched.keys().next().value!);
    }
    this.#matched.set(name, routed);
    return routed;
  }

  /**
   * Sends a request to the deployments of `name`. Returns 2xx and 4xx
   * answers; throws {@link GatewayError} 502/504 (with its `upstreamMs` and
   * `retryAfter` set) or {@link ClientClosedError}. Connection errors
   * and 5xx are retried (up to `max_retries`, on the next deployment), after
   * the upstream's `Retry-After` when it fits {@link MAX_RETRY_AFTER_MS};
   * timeouts and unreadable 2xx answers are not.
   */
  async send(
    name: string,
    request: Omit<UpstreamRequest, "signal">,
    clientSignal: AbortSignal,
    onDeployment?: (deployment: Deployment) => void,
  ): Promise<RoutedResponse> {
    const routed = this.#route(name)!;
    const group = routed.deployments;
    // Names served by one wildcard share its round robin.
    const start = this.#next.get(routed.group) ?? 0;
    this.#next.set(routed.group, (start + 1) % group.length);
    const maxRetries = group[start].config.max_retries;
    let upstreamMs = 0;
    for (let attempt = 0;; attempt++) {
      const deployment = group[(start + attempt) % group.length];
      onDeployment?.(deployment);
      const tried = await this.#attempt(deployment, request, clientSignal);
      upstreamMs += tried.ms;
      const { response } = tried;
      if (response && response.status < 500) {
        if (!response.stream) tried.finish();
        return { deployment, response, upstreamMs, done: tried.finish };
      }
      tried.finish();
      if (!response && clientSignal.aborted) throw new ClientClosedError();
      const retryAfter = response?.retryAfter ?? undefined;
      const timing: UpstreamFailure = { upstreamMs, retryAfter };
      const failure = response
        ? upstreamError(deployment, response, timing)
        : connectionError(deployment, tried, timing);
      if (failure.status === 504 || response?.final || attempt >= maxRetries) throw failure;
      const next = group[(start + attempt + 1) % group.length];
      const wait = next === deployment ? parseRetryAfter(retryAfter ?? null) : undefined;
      if (
        wait !== undefined &&
        wait > Math.min(MAX_RETRY_AFTER_MS, deployment.config.timeout_s * 1000)
      ) {
        throw failure; // the upstream asked for more time than the call has
      }
      await pause(wait ?? backoffMs(attempt), clientSignal);
      if (clientSignal.aborted) throw new ClientClosedError();
    }
  }

  /** One call to one deployment, under its deadline and the client's signal. */
  async #attempt(
    deployment: Deployment,
    request: Omit<UpstreamRequest, "signal">,
    clientSignal: AbortSignal,
  ): Promise<Attempt> {
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
    try {
      const response = await PROVIDERS[deployment.config.provider].send(deployment, {
        ...request,
        signal,
      });
      return { response, timedOut: false, ms: performance.now() - t0, finish };
    } catch (error) {
      return { error, timedOut: signal.aborted, ms: performance.now() - t0, finish };
    }
  }
}

function upstreamError(
  deployment: Deployment,
  response: UpstreamResponse,
  failure: UpstreamFailure,
): GatewayError {
  const body = response.json as
    | { error?: { message?: unknown; code?: unknown } | string }
    | undefined;
  const inner = typeof body?.error === "string" ? body.error : body?.error?.message;
  if (response.final) {
    // An answer the gateway could not read; the message says what came.
    return new GatewayError(
      502,
      "api_error",
      "upstream_invalid_response",
      `upstream ${deployment.apiBase}: ${String(inner)}`,
      failure,
    );
  }
  const detail = typeof inner === "string" ? `: ${inner.slice(0, 500)}` : "";
  return new GatewayError(
    502,
    "api_error",
    "upstream_error",
    `upstream ${deployment.apiBase} returned ${response.status}${detail}`,
    { ...failure, upstreamBody: response.json },
  );
}

/** A 504 when the deadline fired, else a 502 for a connection that failed. */
function connectionError(
  deployment: Deployment,
  tried: Attempt,
  failure: UpstreamFailure,
): GatewayError {
  return tried.timedOut
    ? new GatewayError(
      504,
      "timeout_error",
      "upstream_timeout",
      `upstream ${deployment.apiBase} did not answer within ${deployment.config.timeout_s} s`,
      failure,
    )
    : new GatewayError(
      502,
      "api_error",
      "upstream_unreachable",
      `cannot reach upstream ${deployment.apiBase}: ${describeFetchError(tried.error)}`,
      failure,
    );
}

/** A fetch failure's message and cause; URLs in it lose their user info and query. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return scrubCredentials(String(error)).slice(0, 300);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return scrubCredentials(error.message + cause).slice(0, 300);
}

function backoffMs(attempt: number): number {
  return Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
}
