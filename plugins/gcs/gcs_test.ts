import assert from "node:assert/strict";
import gcsPlugin, {
  createGcsSink,
  GCS_ENV_VARS,
  GCS_SCOPE,
  gcsConfigSchema,
  gcsLiteLLM,
  parseGcsConfig,
  resolveGcsTarget,
  uploadUrl,
} from "./mod.ts";
import { createGoogleAuth, resolveGoogleCredentials } from "./auth.ts";
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
import { googleError, startGoogleFake } from "./test_support.ts";

const decoder = new TextDecoder();
const NAME = /^gateway\/(team-a\/app-a\/)?\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[\w-]+\.json$/;

for (const format of ["json", "ndjson"] as const) {
  Deno.test(`the gcs sink passes the HTTP sink conformance kit (${format})`, async () => {
    const google = await startGoogleFake({ scope: GCS_SCOPE });
    try {
      const report = await checkHttpSinkConformance(gcsPlugin, {
        config: (url) => ({
          bucket: "llm-logs",
          endpoint_url: url,
          service_account_json: google.keyJson,
          format,
          timeout_ms: 2000,
        }),
        eventsIn: (req) => {
          const url = new URL(req.url);
          assert.equal(req.method, "POST");
          assert.equal(url.pathname, "/sluice-conformance/upload/storage/v1/b/llm-logs/o");
          assert.equal(url.searchParams.get("uploadType"), "media");
          assert.match(req.headers.get("authorization") ?? "", /^Bearer ya29\.fake-/);
          const text = decoder.decode(req.body);
          return text.split("\n").filter(Boolean).map((line) => JSON.parse(line).request_id);
        },
      });
      assertConformance(report);
      assert.deepEqual(google.refusals, []);
    } finally {
      await google.close();
    }
  });
}

Deno.test("gcs: objects are media uploads named like the s3 sink's, one token for many batches", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createGcsSink({
      bucket: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
      path: "/gateway/",
      use_team_prefix: true,
      use_key_prefix: true,
    }, ctx);
    const first = sampleEvents(3);
    const second = [sampleEvent({ metadata: { tags: [], request: {} } })];
    await sink.log(first);
    await sink.log(second);
    assert.deepEqual(google.refusals, []);
    assert.equal(google.grants.length, 1, "the token is reused");
    assert.equal(google.uploads.length, 4);
    for (const event of [...first, ...second]) {
      const name = eventObjectKey(event, {
        path: "gateway",
        useTeamPrefix: true,
        useKeyPrefix: true,
      });
      assert.match(name, NAME);
      const object = google.objects.get(`llm-logs/${name}`);
      assert.ok(object, `object ${name}`);
      assert.equal(object.contentType, "application/json");
      assert.deepEqual(JSON.parse(object.body), event);
      assert.equal(object.token, google.grants[0].token);
    }
    // The event without team or alias has no such segments.
    assert.match(
      eventObjectKey(second[0], { path: "gateway", useTeamPrefix: true }),
      /^gateway\/\d{4}/,
    );
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs: ndjson puts a batch in one object per hour, one event a line", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createGcsSink({
      bucket: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
      format: "ndjson",
    }, ctx);
    const events = sampleEvents(5, { start_time: Date.UTC(2026, 11, 6, 9, 30) });
    await sink.log(events);
    assert.equal(google.uploads.length, 1);
    const [object] = google.uploads;
    assert.match(object.name, /^2026-12-06\/09\/09-30-00-000000_[0-9a-f]{16}\.ndjson$/);
    assert.equal(object.contentType, "application/x-ndjson");
    assert.deepEqual(object.body.trim().split("\n").map((l) => JSON.parse(l)), events);
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs: a refused token (401) is renewed and the upload sent again once", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE });
  const ctx = createTestContext();
  try {
    const sink = await createGcsSink({
      bucket: "llm-logs",
      endpoint_url: google.url,
      service_account_json: google.keyJson,
    }, ctx);
    await sink.log(sampleEvents(1));
    google.revoke(google.grants[0].token); // revoked while cached
    const events = sampleEvents(3);
    await sink.log(events);
    assert.equal(google.grants.length, 2);
    assert.equal(google.refusals.filter((r) => r === "upload: token").length, 3);
    for (const event of events) {
      const object = google.objects.get(`llm-logs/${eventObjectKey(event)}`);
      assert.equal(object?.token, google.grants[1].token);
    }
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs: a 403 keeps the events with one clear, credential-free message; they are written once access is fixed", async () => {
  let denied = true;
  const google = await startGoogleFake({
    scope: GCS_SCOPE,
    script: (kind) =>
      kind === "upload" && denied
        ? googleError(
          403,
          "llm-logger@sluice-test.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object.",
          "PERMISSION_DENIED",
        )
        : undefined,
  });
  const ctx = createTestContext();
  try {
    const path = await google.writeKeyFile();
    const env = { GCS_PATH_SERVICE_ACCOUNT: path };
    const permissions = resolvePermissions(gcsPlugin, { bucket: "llm-logs" }, env);
    const sink = await createGcsSink(
      { bucket: "llm-logs", endpoint_url: google.url },
      createTestContext({ env, permissions }),
    );
    const events = sampleEvents(2);
    const messages = new Set<string>();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error: HttpSinkError = await Promise.resolve(sink.log(events)).then(() => {
        throw new Error("log resolved while the bucket refused");
      }, (e) => e);
      assert.notEqual(error.permanent, true, "kept");
      assert.equal(error.status, 403);
      messages.add(error.message);
    }
    assert.equal(messages.size, 1, "the same message while the cause lasts");
    const [message] = messages;
    assert.match(message, /^gcs: bucket "llm-logs" at http:\/\/127\.0\.0\.1:\d+ answered 403/);
    assert.match(message, /does not have storage\.objects\.create access/);
    assert.match(message, /roles\/storage\.objectCreator/);
    assert.match(message, /the events are kept and retried$/);
    for (
      const secret of [
        google.serviceAccount.private_key,
        ...google.grants.map((g) => g.token),
      ]
    ) {
      assert.ok(!message.includes(secret));
    }
    denied = false;
    await sink.log(events);
    for (const event of events) assert.ok(google.objects.has(`llm-logs/${eventObjectKey(event)}`));
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("gcs: STORAGE_EMULATOR_HOST sends no credentials; endpoint_url keeps them", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE, emulator: true });
  try {
    const host = new URL(google.url).host;
    const env = { STORAGE_EMULATOR_HOST: host, GCS_PATH_SERVICE_ACCOUNT: "/never/read.json" };
    const target = resolveGcsTarget(
      parseGcsConfig({ bucket: "llm-logs" }),
      (n) => env[n as keyof typeof env],
    );
    assert.equal(target.shownEndpoint, google.url);
    assert.equal(target.credentials.kind, "none");
    const permissions = resolvePermissions(gcsPlugin, { bucket: "llm-logs" }, env);
    assert.deepEqual(permissions.net, [host]);
    const ctx = createTestContext({ env, permissions });
    const sink = await createGcsSink({ bucket: "llm-logs" }, ctx);
    await sink.log(sampleEvents(2));
    assert.equal(google.uploads.length, 2);
    assert.ok(google.uploads.every((u) => u.token === undefined));
    assert.equal(google.grants.length, 0);
    // endpoint_url (a private endpoint) wins over the emulator variable, with credentials.
    const configured = resolveGcsTarget(
      parseGcsConfig({ bucket: "bk1", endpoint_url: "https://storage.example.internal/base/" }),
      (n) => env[n as keyof typeof env],
    );
    assert.equal(configured.credentials.kind, "file");
    assert.equal(
      uploadUrl(configured, "a b/c.json"),
      "https://storage.example.internal/base/upload/storage/v1/b/bk1/o?uploadType=media&name=a%20b%2Fc.json",
    );
    ctx.controller.abort();
  } finally {
    await google.close();
  }
});

Deno.test("gcs: permissions name the endpoint, the token host and the variables it reads", () => {
  const key = JSON.stringify({
    type: "service_account",
    client_email: "a@p.iam.gserviceaccount.com",
    private_key: "x",
    token_uri: "https://oauth2.example.com/token",
  });
  assert.deepEqual(
    resolvePermissions(gcsPlugin, { bucket: "logs", service_account_json: key }),
    { net: ["storage.googleapis.com", "oauth2.example.com"], env: [...GCS_ENV_VARS], read: [] },
  );
  assert.deepEqual(resolvePermissions(gcsPlugin, { bucket: "logs" }).net, [
    "storage.googleapis.com",
    "metadata.google.internal",
  ]);
  assert.deepEqual(
    resolvePermissions(gcsPlugin, { bucket: "logs" }, { GCS_PATH_SERVICE_ACCOUNT: "/k.json" }),
    {
      net: ["storage.googleapis.com", "oauth2.googleapis.com"],
      env: [...GCS_ENV_VARS],
      read: ["/k.json"], // the key file, the one file the sandboxed plugin may read
    },
  );
  assert.equal(gcsConfigSchema.type, "object");
  assert.throws(
    () => parseGcsConfig({ bucket: "Bad_Bucket!", path: "a/../b", extra: 1 }),
    /^Error: gcs: invalid config: config\.bucket: .*; config: Unrecognized key: "extra"; config\.path: path may not contain a "\.\." segment$/,
  );
});

Deno.test("gcs: LiteLLM's gcs_bucket maps GCS_BUCKET_NAME, GCS_FLUSH_INTERVAL and GCS_BATCH_SIZE", () => {
  const map = (vars: Record<string, string>) =>
    gcsLiteLLM.toSink!({
      callback: "gcs_bucket",
      name: "gcs_bucket",
      path: "litellm_settings.callbacks[0]",
      callbackSettings: {},
      litellmSettings: {},
      env: (name) => vars[name],
    });
  assert.deepEqual(gcsPlugin.litellm?.callbacks, ["gcs_bucket"]);
  assert.deepEqual(
    map({ GCS_BUCKET_NAME: "llm-logs", GCS_FLUSH_INTERVAL: "20", GCS_BATCH_SIZE: "2048" }),
    { config: { bucket: "llm-logs" }, queue: { flush_interval_ms: 20_000, batch_size: 2048 } },
  );
  assert.deepEqual(map({ GCS_BUCKET_NAME: "llm-logs/proxy/prod" }).config, {
    bucket: "llm-logs",
    path: "proxy/prod",
  });
  assert.deepEqual(map({}).problems, [{
    path: "litellm_settings.callbacks[0]",
    severity: "error",
    message: 'callback "gcs_bucket" needs GCS_BUCKET_NAME (the bucket the logs go to)',
  }]);
  assert.equal(
    map({ GCS_BUCKET_NAME: "b12", GCS_BATCH_SIZE: "lots" }).problems?.[0].severity,
    "warning",
  );
});

Deno.test("gcs: a token source can be passed in (one per process, shared)", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE });
  const ctx = createTestContext();
  try {
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: google.keyJson }, () => undefined),
      { name: "gcs", scopes: [GCS_SCOPE], fetch: ctx.fetch },
    );
    const a = await createGcsSink({ bucket: "bucket-a", endpoint_url: google.url }, ctx, { auth });
    const b = await createGcsSink({ bucket: "bucket-b", endpoint_url: google.url }, ctx, { auth });
    await a.log(sampleEvents(1));
    await b.log(sampleEvents(1));
    assert.equal(google.grants.length, 1);
    assert.deepEqual(google.uploads.map((u) => u.bucket), ["bucket-a", "bucket-b"]);
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});
