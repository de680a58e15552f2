/**
 * The azure-sentinel sink: a batch's records go to the Logs Ingestion API
 * in requests of at most 1 MB, each confirmed (204) before the next.
 * @module
 */
import type { PluginContext, Sink } from "@sluice/core/plugin";
import {
  classify,
  failureError,
  fetchFailure,
  type HttpFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import { azureErrorText, createEntraAuth } from "@sluice/azure";
import denoJson from "./deno.json" with { type: "json" };
import {
  type AzureSentinelConfig,
  MONITOR_SCOPE,
  parseAzureSentinelConfig,
  resolveAzureSentinelTarget,
} from "./config.ts";
import { recordJson, requestBodies } from "./records.ts";

/** Request ids confirmed during a batch that then failed, remembered (so its retry skips them), at most. */
const MAX_CONFIRMED = 10_000;

/** Options of {@link createAzureSentinelSink} beyond the config. */
export interface AzureSentinelSinkOptions {
  /** The clock of the token cache (default `Date.now`): tests move it. */
  now?: () => number;
}

/**
 * Creates an azure-sentinel sink. Each `log(events)` turns every event into
 * one record (`format`), packs the records into JSON arrays of at most
 * 1 MB and sends each with
 * `POST <endpoint>/dataCollectionRules/<dcr>/streams/<stream>?api-version=2023-01-01`
 * (`Authorization: Bearer <Entra ID token for https://monitor.azure.com>`),
 * one after another. Records of a request that was accepted (204) are not
 * sent again when the rest of the batch is retried.
 *
 * Failures (`@sluice/core/sink-http`'s `classify`):
 * - 5xx, 429 (`Retry-After` honoured as `retryAfterMs`), timeouts, network
 *   errors: retried;
 * - 401: the token is renewed and the request sent again once; 401, 403
 *   (the app lacks *Monitoring Metrics Publisher* on the rule), 404 (rule,
 *   stream or endpoint), a 400 about the rule or stream, a refused token
 *   request: the events are kept, the message naming rule, stream, endpoint
 *   and app and what to check, never the secret or a token;
 * - other 400s and 413: `permanent`.
 *
 * @param config The sink entry's `config:`.
 * @param ctx The plugin context (`fetch`, `env`).
 * @param options The token cache's clock.
 * @returns The sink.
 * @throws Error when the config is invalid or a setting is missing.
 *
 * @example
 * ```ts
 * import { createAzureSentinelSink } from "@sluice/azure-sentinel";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // One loopback stand-in for Entra ID's token endpoint and the ingestion endpoint.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const path = new URL(req.url).pathname;
 *   if (path.endsWith("/oauth2/v2.0/token")) {
 *     await req.body?.cancel();
 *     return Response.json({ token_type: "Bearer", expires_in: 3599, access_token: "eyJ0.x" });
 *   }
 *   console.log(path, (await req.json()).length, "records");
 *   return new Response(null, { status: 204 });
 * });
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const sink = await createAzureSentinelSink({
 *   endpoint_url: base,
 *   dcr_immutable_id: "dcr-0123456789abcdef0123456789abcdef",
 *   stream_name: "Custom-LiteLLM_CL",
 *   tenant_id: "contoso",
 *   client_id: "11111111-2222-3333-4444-555555555555",
 *   client_secret: "example-secret",
 *   authority_host: base,
 * }, createTestContext());
 * await sink.log(sampleEvents(3)); // /dataCollectionRules/dcr-…/streams/Custom-LiteLLM_CL 3 records
 * await server.shutdown();
 * ```
 */
export function createAzureSentinelSink(
  config: AzureSentinelConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
  options: AzureSentinelSinkOptions = {},
): Sink {
  const parsed = parseAzureSentinelConfig(config);
  const target = resolveAzureSentinelTarget(parsed, (name) => ctx.env(name));
  const auth = createEntraAuth(target.credentials, {
    name: "azure-sentinel",
    scope: MONITOR_SCOPE,
    fetch: (input, init) => ctx.fetch(input, init),
    ...(options.now ? { now: options.now } : {}),
  });
  const where = `rule ${target.dcr} stream ${target.stream} at ${target.shownEndpoint}`;
  const userAgent = `sluice-azure-sentinel/${denoJson.version}`;
  const confirmed = new Set<string>();

  /** Sends one body; undefined when accepted. */
  async function send(
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<{ error: HttpSinkError; tokenRefused: boolean } | undefined> {
    const authorization = await auth.authorization();
    const scrub = secretScrubber(auth.secrets(), { urls: [target.url] });
    let res: Response;
    try {
      res = await ctx.fetch(target.url, {
        method: "POST",
        headers: {
          authorization,
          "content-type": "application/json",
          "user-agent": userAgent,
          "x-ms-client-request-id": crypto.randomUUID(),
        },
        body,
        redirect: "manual",
        signal,
        timeoutMs: parsed.timeout_ms,
      });
    } catch (error) {
      const failed = fetchFailure(
        error,
        `azure-sentinel: an upload to ${where}`,
        parsed.timeout_ms,
        scrub,
      );
      return { error: sinkError(`${failed.message}; retrying`), tokenRefused: false };
    }
    let outcome = classify(res);
    if (outcome.kind === "ok") {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    const text = await res.text().catch(() => "");
    const detail = azureErrorText(text, res.headers, scrub);
    const code = detail.split(":")[0];
    if (
      outcome.kind === "permanent" && res.status === 400 && /Stream|Dcr|DataCollection/i.test(code)
    ) {
      outcome = { kind: "keep", status: 400, reason: "config" } satisfies HttpFailure;
    }
    const answered = `azure-sentinel: ${where} answered ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }${detail ? ` (${detail})` : ""} to ${auth.principal}`;
    const error = failureError(outcome, answered, {
      refused: "Azure Monitor refused these records as malformed",
      credentials: res.status === 401
        ? `the token was refused: ${auth.hint}`
        : `give ${auth.principal} the Monitoring Metrics Publisher role on the data collection rule`,
      url:
        "check the endpoint, the rule's immutable id and the stream name (AZURE_SENTINEL_ENDPOINT, " +
        "AZURE_SENTINEL_DCR_IMMUTABLE_ID, AZURE_SENTINEL_STREAM_NAME)",
      config: "check that the rule declares the stream and its columns (see the README's table)",
      redirect: "set endpoint_url to the final URL",
    }, scrub);
    return { error, tokenRefused: res.status === 401 };
  }

  return {
    async log(events, callOptions) {
      if (events.length === 0) return;
      const signal = callOptions?.signal;
      const pending = events.filter((e) => !confirmed.has(e.request_id));
      const records = pending.map((event) => recordJson(event, parsed.format));
      const permanent: HttpSinkError[] = [];
      let refused = 0;
      for (const { indexes, body } of requestBodies(records)) {
        let failure = await send(body, signal);
        if (failure?.tokenRefused) {
          // The token was refused (revoked, or the clock moved): once more with a new one.
          auth.invalidate();
          failure = await send(body, signal);
        }
        if (!failure) {
          if (confirmed.size >= MAX_CONFIRMED) confirmed.clear();
          for (const i of indexes) confirmed.add(pending[i].request_id);
          continue;
        }
        if (failure.error.permanent) {
          permanent.push(failure.error);
          refused += indexes.length;
          continue;
        }
        throw failure.error; // kept or retried: the accepted requests are remembered
      }
      confirmed.clear();
      if (permanent.length > 0) {
        const written = pending.length - refused;
        throw sinkError(
          `${permanent[0].message} (${refused} event${refused === 1 ? "" : "s"} refused${
            written ? `, ${written} written` : ""
          })`,
          { permanent: true, status: permanent[0].status },
        );
      }
    },
  };
}
