/**
 * The gateway's own telemetry through the otel sink: the sink pipeline's
 * numbers (`sluice.sink.*`, read from `ctx.pipelineStats` at each metric
 * export) equal what `/metrics` shows, and another sink's failure (a
 * `gateway_error` event) arrives as an ERROR log record whose text has the
 * failing sink's secret masked.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import {
  attributesOf,
  logRecordsOf,
  metricsOf,
  startHttpSignalsReceiver,
} from "../plugins/otel/testdata/signals_receiver.ts";
import { until } from "../plugins/otel/testdata/otlp_receiver.ts";

const HOOK_SECRET = "Bearer sk-hook-secret-000000000001";

/** The last exported value of `name` whose attributes include `match`. */
function lastValue(
  // deno-lint-ignore no-explicit-any
  metrics: any[],
  name: string,
  match: Record<string, string>,
): number | undefined {
  let value: number | undefined;
  for (const metric of metrics.filter((m) => m.name === name)) {
    const points = metric.sum?.dataPoints ?? metric.gauge?.dataPoints ?? [];
    for (const point of points) {
      const attributes = attributesOf(point.attributes);
      if (Object.entries(match).every(([k, v]) => attributes[k] === v)) {
        value = Number(point.asInt ?? point.asDouble ?? 0);
      }
    }
  }
  return value;
}

/** `sluice_sink_events_total{sink,outcome}` from the `/metrics` text. */
function promValue(text: string, sink: string, outcome: string): number {
  const line = text.split("\n").find((l) =>
    l.startsWith(`sluice_sink_events_total{sink="${sink}",outcome="${outcome}"}`)
  );
  return Number(line?.split(" ").at(-1));
}

for (const sandbox of [false, true]) {
  Deno.test(`sluice.sink.* metrics equal /metrics; another sink's failure is an ERROR log record, secrets masked (${sandbox ? "sandboxed: the numbers come with each batch" : "in-process"})`, async () => {
    const upstream = startUpstream();
    const otlp = startHttpSignalsReceiver();
    // the webhook's collector refuses every batch as malformed, quoting the request's credentials
    const hook = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) =>
        new Response(`bad payload (auth was ${req.headers.get("authorization")})`, { status: 400 }),
    );
    const gw = await startGateway({
      models: [{ name: "gpt-4o", provider: "openai", api_base: upstream.url, api_key: "sk-up-3" }],
      sinks: [
        {
          name: "otel",
          use: "otel",
          sandbox,
          on: ["success", "failure", "gateway_error"],
          config: {
            endpoint: otlp.url,
            protocol: "http/json",
            signals: ["traces", "metrics", "logs"],
            metric_export_interval_ms: 200,
          },
          queue: { flush_interval_ms: 10 },
        },
        {
          name: "hook",
          use: "webhook",
          config: {
            url: `http://127.0.0.1:${hook.addr.port}/in`,
            headers: { authorization: HOOK_SECRET },
          },
          queue: { flush_interval_ms: 10 },
        },
      ],
    });
    try {
      const client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: `call ${i}` }],
        });
      }
      const metricsText = async () => await (await fetch(`${gw.url}/metrics`)).text();
      await until(
        async () => promValue(await metricsText(), "hook", "dropped") === 3,
        10_000,
        "the webhook's three events dropped",
      );
      await until(
        () =>
          logRecordsOf(otlp.accepted).some((r) => r.eventName === "sluice.gateway_error") &&
          lastValue(metricsOf(otlp.accepted), "sluice.sink.events", {
              "sluice.sink": "hook",
              "sluice.outcome": "dropped",
            }) === 3,
        10_000,
        "the failure as a log record and the drops as a metric",
      );
      // Once traffic stops, the next export and /metrics agree (a sandboxed plugin's numbers are
      // those of its last batch; an in-process one reads them at export time).
      const pairs = [["hook", "dropped"], ["otel", "spooled"], ["hook", "sent"]];
      let text = "";
      await until(
        async () => {
          text = await metricsText();
          const exportedNow = metricsOf(otlp.accepted);
          return pairs.every(([sink, outcome]) =>
            lastValue(exportedNow, "sluice.sink.events", {
              "sluice.sink": sink,
              "sluice.outcome": outcome,
            }) === promValue(text, sink, outcome)
          );
        },
        10_000,
        "the exported numbers to match /metrics",
      );
      const exported = metricsOf(otlp.accepted);
      for (const [sink, outcome] of pairs) {
        assert.equal(
          lastValue(exported, "sluice.sink.events", {
            "sluice.sink": sink,
            "sluice.outcome": outcome,
          }),
          promValue(text, sink, outcome),
          `${sink} ${outcome}`,
        );
      }
      const events = exported.find((m) => m.name === "sluice.sink.events");
      assert.equal(events.unit, "{event}");
      assert.equal(events.sum.isMonotonic, true);
      for (
        const gauge of [
          "sluice.sink.queue_depth",
          "sluice.sink.spool_events",
          "sluice.sink.circuit_open",
        ]
      ) {
        assert.notEqual(lastValue(exported, gauge, { "sluice.sink": "hook" }), undefined, gauge);
      }
      // the calls are counted as calls, the gateway error is not
      assert.equal(
        lastValue(exported, "sluice.requests", { "sluice.call_type": "gateway_error" }),
        undefined,
      );

      const failures = logRecordsOf(otlp.accepted).filter((r) =>
        r.eventName === "sluice.gateway_error"
      );
      const [record] = failures;
      assert.equal(record.severityText, "ERROR");
      assert.equal(record.severityNumber, 17);
      assert.match(record.body.stringValue, /^sink hook: dropped \d+ events the sink rejected/);
      const attributes = attributesOf(record.attributes);
      assert.equal(attributes["sluice.sink"], "hook");
      assert.equal(attributes["error.type"], "permanent_failure");
      for (const r of failures) {
        assert.ok(!JSON.stringify(r).includes("sk-hook-secret"), "the webhook's secret leaked");
      }
      // the calls' own records are there too, with their trace ids
      assert.equal(
        logRecordsOf(otlp.accepted).filter((r) =>
          r.eventName === "gen_ai.client.inference.operation.details"
        ).length,
        3,
      );
    } finally {
      await gw.close();
      await hook.shutdown();
      await otlp.close();
      await upstream.close();
    }
  });
}
