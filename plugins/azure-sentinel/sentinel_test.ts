import assert from "node:assert/strict";
import azureSentinelPlugin, {
  AZURE_SENTINEL_ENV_VARS,
  azureSentinelLiteLLM,
  createAzureSentinelSink,
  MAX_FIELD_BYTES,
  parseAzureSentinelConfig,
  requestBodies,
  resolveAzureSentinelTarget,
  sentinelRecord,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
} from "@sluice/core/testing";
import type { HttpSinkError } from "@sluice/core/sink-http";
import { startEntraFake } from "../azure/test_support.ts";
import { startIngestionFake, TEST_DCR, TEST_STREAM } from "./test_support.ts";

const SCOPE = "https://monitor.azure.com/.default";

function configFor(
  entra: ReturnType<typeof startEntraFake>,
  endpoint: string,
  extra: Record<string, unknown> = {},
) {
  return {
    endpoint_url: endpoint,
    dcr_immutable_id: TEST_DCR,
    stream_name: TEST_STREAM,
    tenant_id: entra.tenantId,
    client_id: entra.clientId,
    client_secret: entra.clientSecret,
    authority_host: entra.authorityHost,
    timeout_ms: 2000,
    ...extra,
  };
}

for (const format of ["table", "payload"] as const) {
  Deno.test(`the azure-sentinel sink passes the HTTP sink conformance kit (${format})`, async () => {
    const entra = startEntraFake({ scope: SCOPE });
    try {
      const report = await checkHttpSinkConformance(azureSentinelPlugin, {
        config: (url) => configFor(entra, url, { format }),
        okResponse: () => new Response(null, { status: 204 }),
        eventsIn: (req) => {
          const url = new URL(req.url);
          assert.equal(
            url.pathname,
            `/sluice-conformance/dataCollectionRules/${TEST_DCR}/streams/${TEST_STREAM}`,
          );
          assert.equal(url.searchParams.get("api-version"), "2023-01-01");
          const token = req.headers.get("authorization")?.replace(/^Bearer /, "");
          assert.ok(entra.grants.some((g) => g.token === token && g.scope === SCOPE));
          const records = JSON.parse(new TextDecoder().decode(req.body));
          return records.map((r: Record<string, string>) => r.RequestId ?? r.request_id);
        },
      });
      assertConformance(report);
      // Cached: one token per sink instance (the kit makes two), renewed only after its 401.
      assert.ok(entra.grants.length <= 3, `${entra.grants.length} tokens`);
    } finally {
      await entra.close();
    }
  });
}

Deno.test("azure-sentinel: every body is the documented table shape; one record per call with the call's columns", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  const api = startIngestionFake({ entra });
  const ctx = createTestContext();
  try {
    const sink = createAzureSentinelSink(configFor(entra, api.url), ctx);
    const ok = sampleEvent({
      model_group: "gpt-4o",
      prompt_tokens: 11,
      completion_tokens: 7,
      total_tokens: 18,
      response_cost: 0.0021,
    });
    const failed = sampleFailureEvent();
    await sink.log([ok, failed, ...sampleEvents(3)]);
    assert.deepEqual(api.refusals, []);
    assert.equal(api.records.length, 5);
    const [first, second] = api.records;
    assert.equal(first.RequestId, ok.request_id);
    assert.equal(first.TimeGenerated, new Date(ok.end_time).toISOString());
    assert.equal(first.ModelGroup, "gpt-4o");
    assert.equal(first.PromptTokens, 11);
    assert.equal(first.TotalTokens, 18);
    assert.equal(first.ResponseCost, 0.0021);
    assert.equal(first.Status, "success");
    assert.deepEqual(first.Messages, ok.messages);
    assert.equal(second.Status, "failure");
    assert.equal(second.ErrorStatus, failed.error?.status);
    assert.equal(second.ErrorMessage, failed.error?.message);
  } finally {
    ctx.controller.abort();
    await api.close();
    await entra.close();
  }
});

Deno.test("azure-sentinel: large calls are split into requests of at most 1 MB, fields cut at 64 KB, each record once", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  const api = startIngestionFake({ entra });
  const ctx = createTestContext();
  try {
    const sink = createAzureSentinelSink(configFor(entra, api.url), ctx);
    const events = sampleEvents(40).map((e, i) => ({
      ...e,
      messages: [{
        role: "user" as const,
        content: `${i} ${"lorem ipsum ".repeat(5_000 + i * 100)}`,
      }],
    }));
    await sink.log(events);
    assert.deepEqual(api.refusals, []);
    assert.ok(api.sizes.length > 1, `${api.sizes.length} requests`);
    assert.ok(api.sizes.every((s) => s <= 1_000_000), String(api.sizes));
    assert.deepEqual(api.records.map((r) => r.RequestId), events.map((e) => e.request_id));
    const cut = api.records[39].Messages;
    assert.equal(typeof cut, "string");
    assert.ok(new TextEncoder().encode(cut as string).length <= MAX_FIELD_BYTES);
    assert.match(cut as string, /…\[truncated \d+ chars\]$/);
  } finally {
    ctx.controller.abort();
    await api.close();
    await entra.close();
  }
});

Deno.test("azure-sentinel: 429 Retry-After becomes retryAfterMs; the retry sends only what was not accepted", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  let requests = 0;
  const api = startIngestionFake({
    entra,
    script: () =>
      ++requests === 2
        ? Response.json({ error: { code: "TooManyRequests", message: "throttled" } }, {
          status: 429,
          headers: { "retry-after": "7" },
        })
        : undefined,
  });
  const ctx = createTestContext();
  try {
    const sink = createAzureSentinelSink(configFor(entra, api.url), ctx);
    const events = sampleEvents(30).map((e) => ({
      ...e,
      messages: [{ role: "user" as const, content: "x".repeat(60_000) }],
    }));
    await assert.rejects(async () => await sink.log(events), (error: HttpSinkError) => {
      assert.equal(error.retryAfterMs, 7000);
      assert.notEqual(error.permanent, true);
      assert.match(error.message, /rate limited/);
      return true;
    });
    const accepted = api.records.length;
    assert.ok(accepted > 0 && accepted < 30, `${accepted} accepted`);
    await sink.log(events); // the pipeline's retry after the wait
    assert.deepEqual(
      api.records.map((r) => r.RequestId).sort(),
      events.map((e) => e.request_id).sort(),
    );
  } finally {
    ctx.controller.abort();
    await api.close();
    await entra.close();
  }
});

Deno.test("azure-sentinel: a revoked token (401) is renewed once; a missing role (403) and a wrong secret keep the events without secrets", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  let forbid = false;
  const api = startIngestionFake({
    entra,
    script: () =>
      forbid
        ? Response.json({
          error: {
            code: "OperationFailed",
            message:
              "The authentication token provided does not have access to ingest data for the data collection rule.",
          },
        }, { status: 403 })
        : undefined,
  });
  const ctx = createTestContext();
  try {
    const sink = createAzureSentinelSink(configFor(entra, api.url), ctx);
    await sink.log(sampleEvents(1));
    api.revoked.add(entra.grants[0].token);
    await sink.log(sampleEvents(2));
    assert.equal(entra.grants.length, 2);
    assert.equal(api.records.length, 3);
    forbid = true;
    await assert.rejects(async () => await sink.log(sampleEvents(1)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 403);
      assert.match(error.message, /Monitoring Metrics Publisher/);
      assert.match(error.message, new RegExp(`rule ${TEST_DCR} stream ${TEST_STREAM}`));
      assert.ok(!error.message.includes(entra.grants[1].token));
      assert.ok(!error.message.includes(entra.clientSecret));
      return true;
    });
    const wrong = createAzureSentinelSink(
      configFor(entra, api.url, { client_secret: "wrong~secret~0123456789" }),
      ctx,
    );
    await assert.rejects(async () => await wrong.log(sampleEvents(1)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.match(error.message, /AADSTS7000215/);
      assert.ok(!error.message.includes("wrong~secret"));
      return true;
    });
  } finally {
    ctx.controller.abort();
    await api.close();
    await entra.close();
  }
});

Deno.test("azure-sentinel: a wrong rule or stream keeps the events and names the variables", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  const api = startIngestionFake({ entra });
  const ctx = createTestContext();
  try {
    const sink = createAzureSentinelSink(
      configFor(entra, api.url, { stream_name: "Custom-Other_CL" }),
      ctx,
    );
    await assert.rejects(async () => await sink.log(sampleEvents(1)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 404);
      assert.match(error.message, /AZURE_SENTINEL_DCR_IMMUTABLE_ID, AZURE_SENTINEL_STREAM_NAME/);
      return true;
    });
  } finally {
    ctx.controller.abort();
    await api.close();
    await entra.close();
  }
});

Deno.test("azure-sentinel: settings resolve from config, LiteLLM's AZURE_SENTINEL_* and Azure's AZURE_*", () => {
  const vars: Record<string, string> = {
    AZURE_SENTINEL_ENDPOINT: "https://my-dcr-abcd.eastus-1.ingest.monitor.azure.com/",
    AZURE_SENTINEL_DCR_IMMUTABLE_ID: TEST_DCR,
    AZURE_TENANT_ID: "contoso",
    AZURE_CLIENT_ID: "app",
    AZURE_SENTINEL_CLIENT_SECRET: "s3cret-value",
    AZURE_SENTINEL_AUTHORITY_HOST: "https://login.microsoftonline.us",
  };
  const target = resolveAzureSentinelTarget(parseAzureSentinelConfig({}), (n) => vars[n]);
  assert.equal(
    target.url,
    `https://my-dcr-abcd.eastus-1.ingest.monitor.azure.com/dataCollectionRules/${TEST_DCR}/streams/Custom-LiteLLM?api-version=2023-01-01`,
  );
  assert.equal(target.credentials.authorityHost, "https://login.microsoftonline.us");
  assert.equal(
    target.credentials.from,
    "AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_SENTINEL_CLIENT_SECRET",
  );
  assert.deepEqual(resolvePermissions(azureSentinelPlugin, {}, vars), {
    net: ["my-dcr-abcd.eastus-1.ingest.monitor.azure.com", "login.microsoftonline.us"],
    env: [...AZURE_SENTINEL_ENV_VARS],
  });
  assert.throws(
    () => resolveAzureSentinelTarget(parseAzureSentinelConfig({}), () => undefined),
    /set AZURE_SENTINEL_ENDPOINT \(or endpoint_url\), AZURE_SENTINEL_DCR_IMMUTABLE_ID/,
  );
  assert.throws(() => parseAzureSentinelConfig({ stream_name: "LiteLLM" }), /config\.stream_name/);
});

Deno.test("azure-sentinel: records, request splitting and the LiteLLM mapping", () => {
  const record = sentinelRecord(
    sampleEvent({ metadata: { tags: ["a"], request: { session_id: "s1" } } }),
  );
  assert.deepEqual(record.Tags, ["a"]);
  assert.deepEqual(record.RequestMetadata, { session_id: "s1" });
  assert.ok(!("ErrorCode" in record));
  const parts = requestBodies(
    ["x".repeat(600_000), "y".repeat(600_000), "z"].map((s) => JSON.stringify(s)),
  );
  assert.deepEqual(parts.map((p) => p.indexes), [[0], [1, 2]]);
  const input = (vars: Record<string, string>) => ({
    callback: "azure_sentinel",
    name: "azure_sentinel",
    path: "litellm_settings.callbacks[0]",
    callbackSettings: {},
    litellmSettings: {},
    env: (name: string) => vars[name],
  });
  assert.deepEqual(
    azureSentinelLiteLLM.toSink!(input({
      AZURE_SENTINEL_ENDPOINT: "https://x.ingest.monitor.azure.com",
      AZURE_SENTINEL_DCR_IMMUTABLE_ID: TEST_DCR,
      AZURE_SENTINEL_TENANT_ID: "t",
      AZURE_SENTINEL_CLIENT_ID: "c",
      AZURE_CLIENT_SECRET: "s",
    })),
    { config: { format: "payload" } },
  );
  assert.deepEqual(
    azureSentinelLiteLLM.toSink!(input({})).problems?.map((p) => p.message),
    [
      'callback "azure_sentinel" needs AZURE_SENTINEL_ENDPOINT',
      'callback "azure_sentinel" needs AZURE_SENTINEL_DCR_IMMUTABLE_ID',
      'callback "azure_sentinel" needs AZURE_SENTINEL_TENANT_ID',
      'callback "azure_sentinel" needs AZURE_SENTINEL_CLIENT_ID',
      'callback "azure_sentinel" needs AZURE_SENTINEL_CLIENT_SECRET',
    ],
  );
});

Deno.test("azure-sentinel: a request matches what Microsoft's @azure/monitor-ingestion client sends for the same records", async () => {
  const { LogsIngestionClient } = await import("npm:@azure/monitor-ingestion@1.2.0");
  const { createHttpHeaders } = await import("npm:@azure/core-rest-pipeline@1.25.1");
  const entra = startEntraFake({ scope: SCOPE });
  const api = startIngestionFake({ entra });
  const ctx = createTestContext();
  /** Requests as the stand-in received them: method, path, query, headers, body (un-gzipped). */
  const captured: {
    method: string;
    path: string;
    query: Record<string, string>;
    headers: Headers;
    body: unknown;
  }[] = [];
  const capture = async (req: Request) => {
    const url = new URL(req.url);
    let bytes = new Uint8Array(await req.arrayBuffer());
    if (req.headers.get("content-encoding") === "gzip") {
      bytes = new Uint8Array(
        await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
          .arrayBuffer(),
      );
    }
    captured.push({
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: JSON.parse(new TextDecoder().decode(bytes)),
    });
    return new Response(null, { status: 204 });
  };
  const recorder = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, capture);
  const endpoint = `http://127.0.0.1:${recorder.addr.port}`;
  try {
    const events = [sampleEvent({ model_group: "gpt-4o" }), sampleFailureEvent()];
    // Sluice's request.
    await createAzureSentinelSink(configFor(entra, endpoint), ctx).log(events);
    // The SDK's request for the same records (it refuses bearer tokens over http, so its
    // transport maps an https name to the loopback recorder).
    const scopes: unknown[] = [];
    const credential = {
      getToken: (scope: string | string[]) => {
        scopes.push(scope);
        return Promise.resolve({ token: "sdk-token", expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
    const httpClient = {
      async sendRequest(request: {
        url: string;
        method: string;
        headers: { toJSON(): Record<string, string> };
        body?: unknown;
      }) {
        const res = await fetch(request.url.replace("https://dce.example", endpoint), {
          method: request.method,
          headers: request.headers.toJSON(),
          body: request.body as BodyInit,
        });
        await res.body?.cancel();
        return {
          request,
          status: res.status,
          headers: createHttpHeaders(Object.fromEntries(res.headers)),
        };
      },
    };
    const client = new LogsIngestionClient(
      "https://dce.example",
      credential,
      {
        httpClient,
      } as unknown as ConstructorParameters<typeof LogsIngestionClient>[2],
    );
    await client.upload(TEST_DCR, TEST_STREAM, events.map((e) => ({ ...sentinelRecord(e) })));
    assert.equal(captured.length, 2);
    const [ours, sdk] = captured;
    assert.deepEqual(scopes, [[SCOPE]], "the same scope");
    assert.equal(ours.method, sdk.method);
    assert.equal(ours.path, sdk.path);
    assert.deepEqual(ours.query, sdk.query);
    assert.equal(ours.headers.get("content-type"), sdk.headers.get("content-type"));
    assert.match(ours.headers.get("authorization") ?? "", /^Bearer /);
    assert.match(sdk.headers.get("authorization") ?? "", /^Bearer /);
    assert.ok(
      ours.headers.get("x-ms-client-request-id") && sdk.headers.get("x-ms-client-request-id"),
    );
    assert.deepEqual(ours.body, sdk.body, "the same records");
    // The stand-in that validates against the schema takes both.
    const proxied = startIngestionFake({ entra });
    try {
      const res = await fetch(
        `${proxied.url}/dataCollectionRules/${TEST_DCR}/streams/${TEST_STREAM}?api-version=2023-01-01`,
        {
          method: "POST",
          headers: {
            authorization: ours.headers.get("authorization")!,
            "content-type": "application/json",
          },
          body: JSON.stringify(sdk.body),
        },
      );
      assert.equal(res.status, 204, await res.text());
    } finally {
      await proxied.close();
    }
  } finally {
    ctx.controller.abort();
    await recorder.shutdown();
    await api.close();
    await entra.close();
  }
});
