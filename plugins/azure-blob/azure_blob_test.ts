import assert from "node:assert/strict";
import azureBlobPlugin, {
  AZURE_BLOB_ENV_VARS,
  azureBlobConfigSchema,
  azureBlobLiteLLM,
  blobUrl,
  createAzureBlobSink,
  parseAzureBlobConfig,
  resolveAzureBlobTarget,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
} from "@sluice/core/testing";
import type { HttpSinkError } from "@sluice/core/sink-http";
import { eventObjectKey } from "@sluice/s3";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "@sluice/azure";
import { startAzurite, startEntraFake } from "../azure/test_support.ts";

const decoder = new TextDecoder();
const NAME = /^gateway\/(team-a\/app-a\/)?\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[\w-]+\.json$/;

for (const format of ["json", "ndjson"] as const) {
  Deno.test(`the azure-blob sink passes the HTTP sink conformance kit (${format})`, async () => {
    const report = await checkHttpSinkConformance(azureBlobPlugin, {
      config: (url) => ({
        container: "llm-logs",
        endpoint_url: url,
        account_name: AZURITE_ACCOUNT_NAME,
        account_key: AZURITE_ACCOUNT_KEY,
        format,
        timeout_ms: 2000,
      }),
      okResponse: () => new Response(null, { status: 201 }),
      eventsIn: (req) => {
        const url = new URL(req.url);
        assert.equal(req.method, "PUT");
        assert.match(url.pathname, /^\/sluice-conformance\/llm-logs\/\d{4}-\d\d-\d\d\//);
        assert.equal(req.headers.get("x-ms-blob-type"), "BlockBlob");
        assert.match(req.headers.get("authorization") ?? "", /^SharedKey devstoreaccount1:/);
        const text = decoder.decode(req.body);
        return text.split("\n").filter(Boolean).map((line) => JSON.parse(line).request_id);
      },
    });
    assertConformance(report);
  });
}

Deno.test("azure-blob: Shared Key blobs in Azurite, named like the s3 sink's objects, read back with @azure/storage-blob", async () => {
  const azurite = await startAzurite();
  const ctx = createTestContext({
    env: {
      AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT_NAME,
      AZURE_STORAGE_ACCOUNT_KEY: AZURITE_ACCOUNT_KEY,
      AZURE_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
    },
    permissions: { env: AZURE_BLOB_ENV_VARS as string[] },
  });
  try {
    await azurite.createContainer("llm-logs");
    const sink = await createAzureBlobSink({
      container: "llm-logs",
      path: "/gateway/",
      use_team_prefix: true,
      use_key_prefix: true,
    }, ctx);
    const first = sampleEvents(3);
    const second = [sampleEvent({ metadata: { tags: [], request: {} } })];
    await sink.log(first);
    await sink.log(second);
    const blobs = await azurite.blobs("llm-logs");
    assert.equal(blobs.size, 4);
    for (const event of [...first, ...second]) {
      const name = eventObjectKey(event, {
        path: "gateway",
        useTeamPrefix: true,
        useKeyPrefix: true,
      });
      assert.match(name, NAME);
      const blob = blobs.get(name);
      assert.ok(blob, `blob ${name}`);
      assert.equal(blob.contentType, "application/json");
      assert.deepEqual(JSON.parse(blob.body), event);
    }
  } finally {
    ctx.controller.abort();
    await azurite.close();
  }
});

Deno.test("azure-blob: ndjson puts a batch in one blob per hour, one event a line (Azurite's connection string)", async () => {
  const azurite = await startAzurite();
  const ctx = createTestContext({
    env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
    permissions: { env: AZURE_BLOB_ENV_VARS as string[] },
  });
  try {
    await azurite.createContainer("llm-logs");
    const sink = await createAzureBlobSink({ container: "llm-logs", format: "ndjson" }, ctx);
    const events = sampleEvents(5, { start_time: Date.UTC(2026, 11, 6, 9, 30) });
    await sink.log(events);
    const blobs = [...(await azurite.blobs("llm-logs"))];
    assert.equal(blobs.length, 1);
    const [[name, blob]] = blobs;
    assert.match(name, /^2026-12-06\/09\/09-30-00-000000_[0-9a-f]{16}\.ndjson$/);
    assert.equal(blob.contentType, "application/x-ndjson");
    assert.deepEqual(blob.body.trim().split("\n").map((l) => JSON.parse(l)), events);
  } finally {
    ctx.controller.abort();
    await azurite.close();
  }
});

Deno.test("azure-blob: a wrong account key is refused by Azurite, the events kept with one clear, credential-free message", async () => {
  const azurite = await startAzurite();
  const wrongKey = new Uint8Array(64).fill(42).toBase64();
  const env = {
    AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT_NAME,
    AZURE_STORAGE_ACCOUNT_KEY: wrongKey,
    AZURE_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
  };
  const ctx = createTestContext({ env, permissions: { env: AZURE_BLOB_ENV_VARS as string[] } });
  try {
    await azurite.createContainer("llm-logs");
    const sink = await createAzureBlobSink({ container: "llm-logs" }, ctx);
    const events = sampleEvents(3);
    const messages: string[] = [];
    for (const batch of [events, sampleEvents(2)]) {
      await assert.rejects(async () => await sink.log(batch), (error: HttpSinkError) => {
        assert.notEqual(error.permanent, true, "the events are kept");
        assert.equal(error.status, 403);
        assert.match(
          error.message,
          /container "llm-logs" at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 answered 403/,
        );
        assert.match(
          error.message,
          /check the account key and account name \(AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCOUNT_NAME\)/,
        );
        assert.match(error.message, /the events are kept and retried/);
        assert.ok(!error.message.includes(wrongKey));
        assert.ok(!error.message.includes("SharedKey"));
        messages.push(error.message);
        return true;
      });
    }
    assert.equal(messages[0], messages[1], "one message per cause");
    assert.equal((await azurite.blobs("llm-logs")).size, 0);
    // With the right key, the same (kept) events are written.
    const fixed = createTestContext({
      env: { ...env, AZURE_STORAGE_ACCOUNT_KEY: AZURITE_ACCOUNT_KEY },
      permissions: { env: AZURE_BLOB_ENV_VARS as string[] },
    });
    await (await createAzureBlobSink({ container: "llm-logs" }, fixed)).log(events);
    assert.equal((await azurite.blobs("llm-logs")).size, 3);
  } finally {
    ctx.controller.abort();
    await azurite.close();
  }
});

Deno.test("azure-blob: a missing container keeps the events and says to create it", async () => {
  const azurite = await startAzurite();
  const ctx = createTestContext();
  try {
    const sink = await createAzureBlobSink({
      container: "no-such-container",
      connection_string: azurite.connectionString,
    }, ctx);
    await assert.rejects(async () => await sink.log(sampleEvents(1)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 404);
      assert.match(error.message, /ContainerNotFound/);
      assert.match(error.message, /create the container "no-such-container"/);
      assert.ok(!error.message.includes(AZURITE_ACCOUNT_KEY));
      return true;
    });
  } finally {
    ctx.controller.abort();
    await azurite.close();
  }
});

Deno.test("azure-blob: Entra ID client credentials against Azurite (https, --oauth basic): one token for many batches", async () => {
  const azurite = await startAzurite({ oauth: true });
  const entra = startEntraFake();
  const ctx = createTestContext({
    fetch: azurite.fetch,
    env: {
      AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT_NAME,
      AZURE_STORAGE_TENANT_ID: entra.tenantId,
      AZURE_STORAGE_CLIENT_ID: entra.clientId,
      AZURE_STORAGE_CLIENT_SECRET: entra.clientSecret,
      AZURE_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
    },
    permissions: { env: AZURE_BLOB_ENV_VARS as string[] },
  });
  try {
    await azurite.createContainer("llm-logs");
    const sink = await createAzureBlobSink({ container: "llm-logs" }, ctx);
    const events = [...sampleEvents(4), ...sampleEvents(3)];
    await sink.log(events.slice(0, 4));
    await sink.log(events.slice(4));
    assert.equal(entra.grants.length, 1, "the token is reused");
    assert.equal(entra.grants[0].scope, "https://storage.azure.com/.default");
    const blobs = await azurite.blobs("llm-logs");
    assert.equal(blobs.size, 7);
    for (const event of events) {
      assert.deepEqual(JSON.parse(blobs.get(eventObjectKey(event))!.body), event);
    }
    // Azurite refuses a token for another resource (its audience is checked), so it checked ours.
    const [header, claims, signature] = entra.grants[0].token.split(".");
    const other = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(claims, {
      alphabet: "base64url",
    })));
    other.aud = "https://monitor.azure.com";
    const forged = [
      header,
      new TextEncoder().encode(JSON.stringify(other)).toBase64({
        alphabet: "base64url",
        omitPadding: true,
      }),
      signature,
    ].join(".");
    const res = await azurite.fetch(`${azurite.blobEndpoint}/llm-logs/x.json`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${forged}`,
        "x-ms-version": "2023-11-03",
        "x-ms-blob-type": "BlockBlob",
      },
      body: "{}",
    });
    await res.body?.cancel();
    assert.ok(res.status === 401 || res.status === 403, `status ${res.status}`);
    assert.equal((await azurite.blobs("llm-logs")).size, 7);
  } finally {
    ctx.controller.abort();
    await entra.close();
    await azurite.close();
  }
});

Deno.test("azure-blob: a wrong client secret keeps the events and names the variables, never the secret", async () => {
  const entra = startEntraFake();
  const wrong = "wrong~client~secret~value~0123";
  const ctx = createTestContext({
    env: {
      AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
      AZURE_STORAGE_TENANT_ID: entra.tenantId,
      AZURE_STORAGE_CLIENT_ID: entra.clientId,
      AZURE_STORAGE_CLIENT_SECRET: wrong,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
    },
    permissions: { env: AZURE_BLOB_ENV_VARS as string[] },
  });
  try {
    const sink = await createAzureBlobSink({ container: "llm-logs" }, ctx);
    await assert.rejects(async () => await sink.log(sampleEvents(2)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.match(error.message, /AADSTS7000215/);
      assert.match(error.message, /AZURE_STORAGE_CLIENT_SECRET/);
      assert.ok(!error.message.includes(wrong));
      return true;
    });
    assert.deepEqual(entra.refusals, ["secret"]);
  } finally {
    ctx.controller.abort();
    await entra.close();
  }
});

Deno.test("azure-blob: a refused bearer token (401) is renewed and the upload sent again once; a role missing (403) is kept", async () => {
  const entra = startEntraFake();
  const revoked = new Set<string>();
  const seen: { token: string; name: string }[] = [];
  let denyRole = false;
  // A loopback Blob stand-in that checks the bearer token against the ones Entra issued.
  const blob = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (!entra.grants.some((g) => g.token === token) || revoked.has(token)) {
      return new Response(
        "<Error><Code>InvalidAuthenticationInfo</Code><Message>Authentication information is not given in the correct format.</Message></Error>",
        { status: 401, headers: { "x-ms-error-code": "InvalidAuthenticationInfo" } },
      );
    }
    if (denyRole) {
      return new Response(
        "<Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.\nRequestId:1</Message></Error>",
        { status: 403, headers: { "x-ms-error-code": "AuthorizationPermissionMismatch" } },
      );
    }
    seen.push({ token, name: new URL(req.url).pathname });
    return new Response(null, { status: 201 });
  });
  const ctx = createTestContext();
  try {
    const sink = await createAzureBlobSink({
      container: "llm-logs",
      endpoint_url: `http://127.0.0.1:${blob.addr.port}/litellm2`,
      tenant_id: entra.tenantId,
      client_id: entra.clientId,
      client_secret: entra.clientSecret,
      authority_host: entra.authorityHost,
    }, ctx);
    await sink.log(sampleEvents(1));
    revoked.add(entra.grants[0].token);
    await sink.log(sampleEvents(3));
    assert.equal(entra.grants.length, 2);
    assert.equal(seen.length, 4);
    assert.deepEqual(seen.slice(1).map((s) => s.token), Array(3).fill(entra.grants[1].token));
    denyRole = true;
    await assert.rejects(async () => await sink.log(sampleEvents(1)), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 403);
      assert.match(error.message, /AuthorizationPermissionMismatch/);
      assert.match(error.message, /Storage Blob Data Contributor/);
      assert.ok(!error.message.includes(entra.grants[1].token));
      return true;
    });
    assert.equal(entra.grants.length, 2, "a missing role does not renew the token");
  } finally {
    ctx.controller.abort();
    await blob.shutdown();
    await entra.close();
  }
});

Deno.test("azure-blob: endpoint, account and credentials resolve from config, then LiteLLM's and Azure's variables", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const shared = resolveAzureBlobTarget(
    { container: "logs" },
    env({ AZURE_STORAGE_ACCOUNT_NAME: "litellm2", AZURE_STORAGE_ACCOUNT_KEY: "a2V5" }),
  );
  assert.equal(shared.shownEndpoint, "https://litellm2.blob.core.windows.net");
  assert.deepEqual(shared.credentials, {
    kind: "shared-key",
    accountKey: "a2V5",
    from: "AZURE_STORAGE_ACCOUNT_KEY",
  });
  const gov = resolveAzureBlobTarget(
    { container: "logs" },
    env({
      AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
      AZURE_STORAGE_TENANT_ID: "t",
      AZURE_STORAGE_CLIENT_ID: "c",
      AZURE_STORAGE_CLIENT_SECRET: "s",
      AZURE_STORAGE_ENDPOINT_SUFFIX: "core.usgovcloudapi.net",
      AZURE_AUTHORITY_HOST: "https://login.microsoftonline.us",
    }),
  );
  assert.equal(gov.shownEndpoint, "https://litellm2.blob.core.usgovcloudapi.net");
  assert.equal(gov.credentials.kind, "entra");
  assert.deepEqual(
    resolvePermissions(azureBlobPlugin, { container: "logs" }, {
      AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
      AZURE_STORAGE_TENANT_ID: "t",
      AZURE_STORAGE_CLIENT_ID: "c",
      AZURE_STORAGE_CLIENT_SECRET: "s",
    }).net,
    ["litellm2.blob.core.windows.net", "login.microsoftonline.com"],
  );
  // Config wins over the variables; the account comes from an Azurite-style endpoint's path.
  const azurite = resolveAzureBlobTarget(
    {
      container: "logs",
      endpoint_url: "http://127.0.0.1:10000/devstoreaccount1",
      account_key: AZURITE_ACCOUNT_KEY,
    },
    env({ AZURE_STORAGE_ACCOUNT_KEY: "b3RoZXI=" }),
  );
  assert.equal(azurite.account, "devstoreaccount1");
  assert.equal(azurite.credentials.from, "account_key");
  assert.equal(
    blobUrl(azurite, "a b/c.json"),
    "http://127.0.0.1:10000/devstoreaccount1/logs/a%20b/c.json",
  );
  const sas = resolveAzureBlobTarget(
    { container: "logs" },
    env({
      AZURE_STORAGE_CONNECTION_STRING:
        "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2022&sig=x",
    }),
  );
  assert.deepEqual(sas.credentials, {
    kind: "sas",
    token: "sv=2022&sig=x",
    from: "AZURE_STORAGE_CONNECTION_STRING",
  });
  assert.equal(sas.account, "acct");
  assert.throws(
    () => resolveAzureBlobTarget({ container: "logs" }, env({ AZURE_STORAGE_ACCOUNT_NAME: "a1b" })),
    /no credentials: set AZURE_STORAGE_ACCOUNT_KEY/,
  );
  assert.throws(
    () =>
      resolveAzureBlobTarget(
        { container: "logs" },
        env({ AZURE_STORAGE_ACCOUNT_NAME: "a1b", AZURE_STORAGE_CLIENT_SECRET: "s" }),
      ),
    /without AZURE_STORAGE_TENANT_ID/,
  );
  assert.throws(
    () =>
      resolveAzureBlobTarget(
        { container: "logs" },
        env({ AZURE_STORAGE_CONNECTION_STRING: "AccountKey=c2VjcmV0LWtleQ==" }),
      ),
    (error: Error) =>
      !error.message.includes("c2VjcmV0") && /AZURE_STORAGE_CONNECTION_STRING/.test(error.message),
  );
});

Deno.test("azure-blob: config checks", () => {
  assert.equal(parseAzureBlobConfig({ container: "llm-logs" }).timeout_ms, 30_000);
  assert.throws(() => parseAzureBlobConfig({ container: "Bad_Name" }), /config\.container/);
  assert.throws(
    () => parseAzureBlobConfig({ container: "logs", tenant_id: "t", client_id: "c" }),
    /tenant_id, client_id and client_secret together/,
  );
  assert.throws(
    () => parseAzureBlobConfig({ container: "logs", account_key: "a", connection_string: "b" }),
    /set one of/,
  );
  assert.throws(() => parseAzureBlobConfig({ container: "logs", path: "a/../b" }), /".."/);
  assert.equal(azureBlobConfigSchema.type, "object");
});

Deno.test("azure-blob: LiteLLM's azure_storage variables become the sink entry", () => {
  const input = (vars: Record<string, string>) => ({
    callback: "azure_storage",
    name: "azure_storage",
    path: "litellm_settings.callbacks[0]",
    callbackSettings: {},
    litellmSettings: {},
    env: (name: string) => vars[name],
  });
  assert.deepEqual(
    azureBlobLiteLLM.toSink!(input({
      AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
      AZURE_STORAGE_FILE_SYSTEM: "litellm-logs",
      AZURE_STORAGE_TENANT_ID: "t",
      AZURE_STORAGE_CLIENT_ID: "c",
      AZURE_STORAGE_CLIENT_SECRET: "s",
    })),
    { config: { container: "litellm-logs" } },
  );
  const missing = azureBlobLiteLLM.toSink!(input({}));
  assert.deepEqual(missing.problems?.map((p) => p.message), [
    'callback "azure_storage" needs AZURE_STORAGE_FILE_SYSTEM (the container the logs go to)',
    'callback "azure_storage" needs AZURE_STORAGE_ACCOUNT_NAME (the storage account)',
    'callback "azure_storage" needs AZURE_STORAGE_ACCOUNT_KEY, or AZURE_STORAGE_TENANT_ID, ' +
    "AZURE_STORAGE_CLIENT_ID and AZURE_STORAGE_CLIENT_SECRET",
  ]);
});
