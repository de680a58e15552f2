/**
 * Issue #22's finish line: one LiteLLM config.yaml naming every
 * LLM-observability callback of #22 (`datadog`, `datadog_llm_observability`,
 * `langsmith`, `lunary`, `mlflow`, `deepeval`, `athina`, `azure_sentinel`),
 * with the variables LiteLLM's docs name, starts with no "unsupported"
 * warning and, with each sink sandboxed as built-in plugins run, delivers
 * each call exactly once to every one of the loopback receivers the
 * packages ship (each checks its credential and validates every body
 * against the schema written from the vendor's docs).
 */
import assert from "node:assert/strict";
import { assertEachOnce, countBy } from "./fakes/outage.ts";
import { assertNoGatewaySecrets, runLiteLLMConfig } from "./fakes/litellm_run.ts";
import { startDatadogReceiver, TEST_DD_API_KEY } from "../plugins/datadog/test_support.ts";
import { startLangSmithReceiver, TEST_LANGSMITH_KEY } from "../plugins/langsmith/test_support.ts";
import { startLunaryReceiver, TEST_LUNARY_KEY } from "../plugins/lunary/test_support.ts";
import { startMlflowReceiver } from "../plugins/mlflow/test_support.ts";
import { startConfidentReceiver, TEST_CONFIDENT_KEY } from "../plugins/deepeval/test_support.ts";
import { startAthinaReceiver, TEST_ATHINA_KEY } from "../plugins/athina/test_support.ts";
import { startEntraFake } from "../plugins/azure/test_support.ts";
import {
  startIngestionFake,
  TEST_DCR,
  TEST_STREAM,
} from "../plugins/azure-sentinel/test_support.ts";

const MLFLOW_TOKEN = "mlflow-token-litellm-observability";

Deno.test("litellm docs: datadog, datadog_llm_observability, langsmith, lunary, mlflow, deepeval, athina and azure_sentinel in one config deliver each call to all of them, with no warning", async () => {
  const dd = startDatadogReceiver();
  const langsmith = startLangSmithReceiver();
  const lunary = startLunaryReceiver();
  const mlflow = startMlflowReceiver({ auth: { token: MLFLOW_TOKEN } });
  const confident = startConfidentReceiver();
  const athina = startAthinaReceiver();
  const entra = startEntraFake({ scope: "https://monitor.azure.com/.default" });
  const sentinel = startIngestionFake({ entra, format: "payload" });
  const ids: string[] = [];
  try {
    const problems = await runLiteLLMConfig(
      {
        litellm_settings: {
          callbacks: ["datadog", "datadog_llm_observability", "langsmith", "mlflow"],
          success_callback: ["lunary", "deepeval", "athina", "azure_sentinel"],
        },
        environment_variables: {
          DD_API_KEY: TEST_DD_API_KEY,
          DD_SITE: "us5.datadoghq.com",
          // LiteLLM's Datadog Agent variables: both intakes go to the loopback "agent".
          LITELLM_DD_AGENT_HOST: "127.0.0.1",
          LITELLM_DD_AGENT_PORT: String(dd.port),
          LANGSMITH_API_KEY: TEST_LANGSMITH_KEY,
          LANGSMITH_PROJECT: "litellm-observability",
          LANGSMITH_BASE_URL: langsmith.url,
          LUNARY_PUBLIC_KEY: TEST_LUNARY_KEY,
          LUNARY_API_URL: lunary.url,
          MLFLOW_TRACKING_URI: mlflow.url,
          MLFLOW_TRACKING_TOKEN: MLFLOW_TOKEN,
          CONFIDENT_API_KEY: TEST_CONFIDENT_KEY,
          CONFIDENT_BASE_URL: confident.url,
          ATHINA_API_KEY: TEST_ATHINA_KEY,
          ATHINA_BASE_URL: athina.url,
          AZURE_SENTINEL_ENDPOINT: sentinel.url,
          AZURE_SENTINEL_DCR_IMMUTABLE_ID: TEST_DCR,
          AZURE_SENTINEL_STREAM_NAME: TEST_STREAM,
          AZURE_SENTINEL_TENANT_ID: entra.tenantId,
          AZURE_SENTINEL_CLIENT_ID: entra.clientId,
          AZURE_SENTINEL_CLIENT_SECRET: entra.clientSecret,
          // Entra ID's authority: a loopback stand-in (the plugin's variable, as in its own test).
          AZURE_SENTINEL_AUTHORITY_HOST: entra.authorityHost,
        },
      },
      async (client) => {
        for (const content of ["what is the capital of France?", "and of Spain?"]) {
          const { response } = await client.chat.completions.create({
            model: "gpt-4o",
            messages: [{ role: "user", content }],
          }).withResponse();
          const id = response.headers.get("x-request-id");
          assert.ok(id, "the gateway names the call");
          ids.push(id);
        }
      }, // the gateway is closed (every sink flushed) when this returns
    );
    assert.deepEqual(problems, [], "no unsupported callback or setting");
    assert.equal(new Set(ids).size, 2);

    for (
      const [name, receiverProblems] of [
        ["datadog", dd.problems],
        ["langsmith", langsmith.problems],
        ["lunary", lunary.problems],
        ["mlflow", mlflow.problems],
        ["deepeval", confident.problems],
        ["athina", athina.problems],
        ["azure_sentinel", sentinel.refusals],
      ] as const
    ) assert.deepEqual(receiverProblems, [], name);

    const logs = dd.logs().map((l) => JSON.parse(l.message));
    assertEachOnce(countBy(logs, (e) => e.request_id), ids, "datadog log");
    assertEachOnce(
      countBy(dd.spans(), (s) => String(s.meta.metadata.request_id)),
      ids,
      "datadog llm-obs span",
    );
    // LangSmith and Lunary upsert/store by run id (the request id); count what was posted.
    const posted = langsmith.requests.flatMap((r) =>
      r.status === 202 ? (r.body as { post: { id: string }[] }).post : []
    );
    assertEachOnce(countBy(posted, (run) => run.id), ids, "langsmith run");
    assertEachOnce(countBy(lunary.runs.keys(), (id) => id), ids, "lunary run");
    assert.ok([...lunary.runs.values()].every((run) => run.finish), "every lunary run ended");
    const spans = [...mlflow.traces.values()].flatMap((t) => [...t.spans.values()]);
    assertEachOnce(countBy(spans, (s) => String(s.attributes.request_id)), ids, "mlflow span");
    assertEachOnce(countBy(confident.traces, (t) => t.uuid), ids, "confident trace");
    assertEachOnce(
      countBy(athina.logs, (l) => String(l.custom_attributes.request_id)),
      ids,
      "athina log",
    );
    assertEachOnce(
      countBy(sentinel.records, (r) => String(r.request_id)),
      ids,
      "azure sentinel record",
    );

    // Each receiver saw its own credential, and no gateway or upstream key in any body.
    for (const r of dd.requests) {
      assert.equal(r.headers.get("dd-api-key"), TEST_DD_API_KEY);
      assertNoGatewaySecrets(r.text);
    }
    for (const r of langsmith.requests) assertNoGatewaySecrets(JSON.stringify(r.body));
    for (const r of lunary.requests) assertNoGatewaySecrets(JSON.stringify(r.body));
    for (const s of spans) assertNoGatewaySecrets(JSON.stringify(s.raw));
    for (const r of mlflow.requests) {
      assert.equal(r.headers.get("authorization"), `Bearer ${MLFLOW_TOKEN}`);
    }
    for (const r of confident.requests) assertNoGatewaySecrets(JSON.stringify(r.body));
    for (const r of athina.requests) assertNoGatewaySecrets(JSON.stringify(r.body));
    assertNoGatewaySecrets(JSON.stringify(sentinel.records));
  } finally {
    await dd.close();
    await langsmith.close();
    await lunary.close();
    await mlflow.close();
    await confident.close();
    await athina.close();
    await sentinel.close();
    await entra.close();
  }
});
