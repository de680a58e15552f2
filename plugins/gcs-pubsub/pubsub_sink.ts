/**
 * The gcs-pubsub sink: each event one Pub/Sub message, published with
 * `topics.publish` in requests within the API's limits, confirmed (one
 * message id per message) before `log` resolves.
 * @module
 */
import type { PluginContext, Sink } from "@sluice/core/plugin";
import {
  classify,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import { createGoogleAuth, type GoogleAuth } from "@sluice/gcs/auth";
import denoJson from "./deno.json" with { type: "json" };
import {
  parsePubSubConfig,
  PUBSUB_SCOPE,
  type PubSubConfig,
  type PubSubTarget,
  resolvePubSubTarget,
} from "./config.ts";
import { eventMessage, planRequests, type PreparedMessage } from "./messages.ts";

/** Request ids confirmed during a batch that then failed, remembered (so its retry skips them), at most. */
const MAX_CONFIRMED = 100_000;

/**
 * The `topics.publish` URL of a topic: `<endpoint>/v1/projects/<p>/topics/<t>:publish`.
 *
 * @param target The endpoint and topic.
 * @returns The URL.
 *
 * @example
 * ```ts
 * import { publishUrl } from "@sluice/gcs-pubsub";
 *
 * publishUrl({ endpoint: new URL("https://pubsub.googleapis.com"), topic: "projects/p1/topics/logs" });
 * // "https://pubsub.googleapis.com/v1/projects/p1/topics/logs:publish"
 * ```
 */
export function publishUrl(target: Pick<PubSubTarget, "endpoint" | "topic">): string {
  const base = target.endpoint.pathname.replace(/\/+$/, "");
  const [, project, , topic] = target.topic.split("/");
  return `${target.endpoint.origin}${base}/v1/projects/${encodeURIComponent(project)}/topics/${
    encodeURIComponent(topic)
  }:publish`;
}

/** Options of {@link createPubSubSink} beyond the config. */
export interface PubSubSinkOptions {
  /** The token source (default: one from the config and environment, `@sluice/gcs/auth`). */
  auth?: GoogleAuth;
}

/** A failed publish request. */
interface Failure {
  kind: "retry" | "keep" | "permanent";
  error: HttpSinkError;
  tokenRefused?: boolean;
}

/**
 * Creates a gcs-pubsub sink. Each `log(events)` publishes one message per
 * event (`data`: the event's JSON, base64; `attributes`: `request_id`,
 * `call_id`, `status`, `call_type`, `model_group`, `schema_version` and the
 * config's; `orderingKey` from `ordering_key`'s field), in requests of at
 * most 1,000 messages and 10 MB with one ordering key each, one request at a
 * time (so a key's messages go out in order). It resolves once every request
 * is confirmed with a message id per message.
 *
 * Failures (`@sluice/core/sink-http`'s `classify`): 5xx, 429 and network
 * errors are retried; a 401 renews the token and sends the request once
 * more; 401, 403, 404 and a token that cannot be had keep the events with
 * one message naming the topic, endpoint and account (never a key or
 * token); 400, 413, 422 are `permanent`. Messages confirmed before a
 * failure are not sent again when the batch is retried. An event too big
 * for Pub/Sub (over 10 MB) is never sent: once the rest of the batch is
 * published, `log` throws `permanent` naming how many (the gateway drops
 * and reports them).
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`).
 * @param options A token source to use instead of the configured one.
 * @returns The sink.
 * @throws Error when the config is invalid or the key cannot be read.
 *
 * @example
 * ```ts
 * import { createPubSubSink } from "@sluice/gcs-pubsub";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for the Pub/Sub emulator: answers a message id per message.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const { messages } = await req.json();
 *   console.log(new URL(req.url).pathname, messages.length); // /v1/projects/p1/topics/llm-logs:publish 3
 *   return Response.json({ messageIds: messages.map((_: unknown, i: number) => String(i)) });
 * });
 * const ctx = createTestContext({
 *   env: { PUBSUB_EMULATOR_HOST: `127.0.0.1:${server.addr.port}` },
 *   permissions: { env: ["PUBSUB_EMULATOR_HOST"] },
 * });
 * const sink = await createPubSubSink({ project_id: "p1", topic_id: "llm-logs" }, ctx);
 * await sink.log(sampleEvents(3));
 * await server.shutdown();
 * ```
 */
export async function createPubSubSink(
  config: PubSubConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
  options: PubSubSinkOptions = {},
): Promise<Sink> {
  const parsed = parsePubSubConfig(config);
  const target = resolvePubSubTarget(parsed, (name) => ctx.env(name));
  const auth = options.auth ?? await createGoogleAuth(target.credentials, {
    name: "gcs-pubsub",
    scopes: [PUBSUB_SCOPE],
    fetch: (input, init) => ctx.fetch(input, init),
  });
  const url = publishUrl(target);
  const where = `topic ${target.topic} at ${target.shownEndpoint}`;
  const userAgent = `sluice-gcs-pubsub/${denoJson.version}`;
  const confirmed = new Set<string>();

  async function publish(
    messages: readonly PreparedMessage[],
    signal: AbortSignal | undefined,
  ): Promise<Failure | undefined> {
    const scrub = secretScrubber(auth.secrets());
    const authorization = await auth.authorization();
    let res: Response;
    try {
      res = await ctx.fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": userAgent,
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ messages: messages.map((m) => m.message) }),
        redirect: "manual",
        signal,
        timeoutMs: parsed.timeout_ms,
      });
    } catch (error) {
      const failed = fetchFailure(
        error,
        `gcs-pubsub: a publish to ${where}`,
        parsed.timeout_ms,
        scrub,
      );
      return { kind: "retry", error: sinkError(`${failed.message}; retrying`) };
    }
    const outcome = classify(res);
    if (outcome.kind === "ok") {
      const body = await res.json().catch(() => undefined) as { messageIds?: unknown } | undefined;
      const ids = Array.isArray(body?.messageIds) ? body.messageIds : [];
      if (ids.length === messages.length) return undefined;
      return {
        kind: "retry",
        error: sinkError(
          `gcs-pubsub: ${where} answered ${res.status} with ${ids.length} message ids for ${messages.length} messages; retrying`,
          { status: res.status },
        ),
      };
    }
    const detail = await errorDetail(res, scrub);
    const answered = `gcs-pubsub: ${where} answered ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }${detail ? ` (${detail})` : ""} to ${auth.principal}`;
    const error = failureError(outcome, answered, {
      refused: "Pub/Sub refused the messages as malformed",
      credentials: res.status === 401
        ? `the access token was refused: ${auth.hint}`
        : `check that ${auth.principal} may publish to the topic (roles/pubsub.publisher)`,
      url: "check project_id, topic_id (the topic must exist) and endpoint_url",
      redirect: "set endpoint_url to the final URL",
    }, scrub);
    return { kind: outcome.kind, error, tokenRefused: res.status === 401 };
  }

  return {
    async log(events, callOptions) {
      if (events.length === 0) return;
      const signal = callOptions?.signal;
      const prepared = events
        .map((event) =>
          eventMessage(event, { orderingKey: parsed.ordering_key, attributes: parsed.attributes })
        )
        .filter((m) => !confirmed.has(m.requestId));
      const { requests, oversized } = planRequests(prepared);
      let refused = 0;
      let refusal: HttpSinkError | undefined;
      for (const request of requests) {
        let failure = await publish(request, signal);
        if (failure?.tokenRefused && auth.source.kind !== "none") {
          // The token was refused (revoked, or the clock moved): once more with a new one.
          auth.invalidate();
          failure = await publish(request, signal);
        }
        if (failure?.kind === "permanent") {
          // These messages are dropped either way: the other requests still go out.
          refused += request.length;
          refusal ??= failure.error;
          continue;
        }
        // Stop at any other failure: a later request may hold later messages of the same key.
        if (failure) throw failure.error;
        if (confirmed.size + request.length > MAX_CONFIRMED) confirmed.clear();
        for (const m of request) confirmed.add(m.requestId);
      }
      confirmed.clear();
      if (refused === 0 && oversized.length === 0) return;
      const published = prepared.length - refused - oversized.length;
      const parts: string[] = [];
      if (refusal) parts.push(`${refusal.message} (${refused} of ${prepared.length} messages)`);
      if (oversized.length > 0) {
        const largest = Math.max(...oversized.map((m) => m.dataBytes));
        parts.push(
          `gcs-pubsub: ${oversized.length} event${oversized.length === 1 ? " is" : "s are"} ` +
            `too big for a Pub/Sub message (largest ${largest} bytes of JSON; the limit is 10 MB ` +
            "a message and a request): not published; strip content with the entry's redaction: " +
            "(strip_base64, drop_non_text_parts)",
        );
      }
      throw sinkError(
        `${parts.join("; ")}${published > 0 ? `; the other ${published} were published` : ""}`,
        {
          permanent: true,
          status: refusal?.status,
        },
      );
    },
  };
}
