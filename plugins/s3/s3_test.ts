import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import s3Plugin, {
  classifyFailure,
  createS3Sink,
  eventObjectKey,
  MAX_KEY_BYTES,
  ndjsonGroups,
  objectUrl,
  parseS3Config,
  parseS3Error,
  resolveS3Target,
  retryAfterMs,
  S3_ENV_VARS,
  s3ConfigSchema,
  sanitizeSegment,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  HTTP_SINK_CHECKS,
  resolvePermissions,
  sampleEvent,
  sampleEvents,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789";
const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const creds = { access_key_id: KEY_ID, secret_access_key: SECRET };
const decoder = new TextDecoder();

Deno.test("the s3 sink passes the HTTP sink conformance kit (json: one PUT per event)", async () => {
  const report = await checkHttpSinkConformance(s3Plugin, {
    config: (url) => ({ bucket: "logs", endpoint_url: url, ...creds, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.equal(req.method, "PUT");
      assert.match(new URL(req.url).pathname, /^\/sluice-conformance\/logs\/\d{4}-\d\d-\d\d\//);
      return [(JSON.parse(decoder.decode(req.body)) as LogEvent).request_id];
    },
    batchSize: 4,
  });
  assertConformance(report);
  assert.equal(report.checks.length, Object.keys(HTTP_SINK_CHECKS).length);
});

Deno.test("the s3 sink passes the HTTP sink conformance kit (ndjson: one PUT per batch)", async () => {
  const report = await checkHttpSinkConformance(s3Plugin, {
    config: (url) => ({ bucket: "logs", endpoint_url: url, ...creds, format: "ndjson" as const }),
    eventsIn: (req) => {
      assert.equal(req.headers.get("content-type"), "application/x-ndjson");
      return decoder.decode(req.body).split("\n").filter(Boolean).map((line) =>
        (JSON.parse(line) as LogEvent).request_id
      );
    },
  });
  assertConformance(report);
});

Deno.test("the definition: name, version, contract, env permissions and a draft-07 schema", () => {
  assert.equal(s3Plugin.name, "s3");
  assert.equal(s3Plugin.version, denoJson.version);
  assert.equal(s3Plugin.apiVersion, 1);
  const creds = { access_key_id: "AKIDEXAMPLE", secret_access_key: "wJalrXUtnFEMI/K7MDENG" };
  const aws = resolvePermissions(s3Plugin, { bucket: "logs", region: "eu-west-1", ...creds });
  assert.deepEqual(aws.env, [...S3_ENV_VARS]);
  assert.deepEqual(aws.net, ["logs.s3.eu-west-1.amazonaws.com"]);
  const local = { bucket: "logs", endpoint_url: "http://127.0.0.1:9000", ...creds };
  assert.deepEqual(resolvePermissions(s3Plugin, local).net, ["127.0.0.1:9000"]);
  const schema = s3ConfigSchema as {
    $schema: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { enum?: string[]; default?: unknown; type?: string }>;
  };
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.deepEqual(schema.required, ["bucket"]);
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(Object.keys(schema.properties).sort(), [
    "access_key_id",
    "bucket",
    "endpoint_url",
    "format",
    "path",
    "path_style",
    "region",
    "secret_access_key",
    "server_side_encryption",
    "session_token",
    "sse_kms_key_id",
    "timeout_ms",
    "use_key_prefix",
    "use_team_prefix",
  ]);
  assert.deepEqual(schema.properties.format.enum, ["json", "ndjson"]);
  assert.equal(schema.properties.format.default, "json");
  assert.deepEqual(schema.properties.server_side_encryption.enum, ["AES256", "aws:kms"]);
  assert.deepEqual(structuredClone(s3ConfigSchema), s3ConfigSchema);
});

Deno.test("config: defaults, cross-field rules and clear errors that never show a secret", () => {
  const parsed = parseS3Config({ bucket: "logs" });
  assert.equal(parsed.format, "json");
  assert.equal(parsed.use_team_prefix, false);
  assert.equal(parsed.use_key_prefix, false);
  assert.equal(parsed.timeout_ms, 30_000);
  const bad = [
    [{ bucket: "logs", sse_kms_key_id: "k" }, /sse_kms_key_id needs server_side_encryption/],
    [{ bucket: "logs", access_key_id: KEY_ID }, /config\.secret_access_key: .*set both/],
    [{ bucket: "logs", secret_access_key: SECRET }, /config\.access_key_id: .*set both/],
    [{ bucket: "logs", session_token: TOKEN }, /session_token needs access_key_id/],
    [{ bucket: "logs", path: "a/../b" }, /path may not contain a "\.\." segment/],
    [{ bucket: "logs", path: "a\u0000" }, /control characters/],
    [{ bucket: "a/b" }, /config\.bucket/],
    [{ bucket: "logs", format: "csv" }, /config\.format/],
    [{ bucket: "logs", endpoint_url: "ftp://x" }, /config\.endpoint_url/],
    [{ bucket: "logs", extra: 1 }, /extra/],
  ] as const;
  for (const [config, message] of bad) {
    assert.throws(() => parseS3Config(config), (error: Error) => {
      assert.match(error.message, message);
      assert.ok(!error.message.includes(SECRET) && !error.message.includes(TOKEN), error.message);
      return true;
    });
  }
});

Deno.test("target: endpoint, addressing style, region and credentials from config, then AWS_* variables", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const aws = resolveS3Target(parseS3Config({ bucket: "my-logs", ...creds }), env({}));
  assert.equal(aws.region, "us-east-1");
  assert.equal(aws.pathStyle, false);
  assert.equal(aws.shownEndpoint, "https://s3.us-east-1.amazonaws.com");
  assert.equal(
    objectUrl(aws, "a b/c(1).json"),
    "https://my-logs.s3.us-east-1.amazonaws.com/a%20b/c%281%29.json",
  );
  assert.equal(aws.credentials.from, "config");

  const fromEnv = resolveS3Target(
    parseS3Config({ bucket: "my.dotted.bucket" }),
    env({
      AWS_ACCESS_KEY_ID: "AKIAENV",
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: TOKEN,
      AWS_DEFAULT_REGION: "cn-north-1",
    }),
  );
  assert.deepEqual(fromEnv.credentials, {
    accessKeyId: "AKIAENV",
    secretAccessKey: SECRET,
    sessionToken: TOKEN,
    from: "environment",
  });
  assert.equal(fromEnv.region, "cn-north-1");
  assert.equal(fromEnv.pathStyle, true, "dotted buckets are addressed path-style (TLS)");
  assert.equal(
    objectUrl(fromEnv, "k.json"),
    "https://s3.cn-north-1.amazonaws.com.cn/my.dotted.bucket/k.json",
  );

  // AWS_REGION wins over AWS_DEFAULT_REGION; config wins over both.
  const regions = env({
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "us-west-2",
    AWS_ACCESS_KEY_ID: "A",
    AWS_SECRET_ACCESS_KEY: "B",
  });
  assert.equal(resolveS3Target(parseS3Config({ bucket: "b1b" }), regions).region, "eu-west-1");
  assert.equal(
    resolveS3Target(parseS3Config({ bucket: "b1b", region: "auto" }), regions).region,
    "auto",
  );

  // endpoint_url: path-style by default, virtual-hosted on request; user info and query dropped.
  const minio = resolveS3Target(
    parseS3Config({
      bucket: "logs",
      endpoint_url: "http://u:p@127.0.0.1:9000/base/?x=1",
      ...creds,
    }),
    env({}),
  );
  assert.equal(minio.pathStyle, true);
  assert.equal(minio.shownEndpoint, "http://127.0.0.1:9000/base");
  assert.equal(objectUrl(minio, "d/k.json"), "http://127.0.0.1:9000/base/logs/d/k.json");
  const r2 = resolveS3Target(
    parseS3Config({
      bucket: "logs",
      endpoint_url: "https://acct.r2.cloudflarestorage.com",
      path_style: false,
      ...creds,
    }),
    env({}),
  );
  assert.equal(objectUrl(r2, "k.json"), "https://logs.acct.r2.cloudflarestorage.com/k.json");

  // AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL.
  const viaEnv = resolveS3Target(
    parseS3Config({ bucket: "logs", ...creds }),
    env({ AWS_ENDPOINT_URL: "http://127.0.0.1:1", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:2" }),
  );
  assert.equal(viaEnv.shownEndpoint, "http://127.0.0.1:2");
  assert.equal(viaEnv.pathStyle, true);

  // No credentials anywhere: a clear error; a half-set environment says what is missing.
  assert.throws(
    () => resolveS3Target(parseS3Config({ bucket: "logs" }), env({})),
    /no credentials for bucket "logs": set config\.access_key_id and config\.secret_access_key/,
  );
  assert.throws(
    () => resolveS3Target(parseS3Config({ bucket: "logs" }), env({ AWS_ACCESS_KEY_ID: "A" })),
    /AWS_SECRET_ACCESS_KEY is missing/,
  );
});

Deno.test("keys: LiteLLM's layout from the call's start in UTC, prefixes, microseconds", () => {
  const start = Date.UTC(2025, 0, 31, 23, 5, 9, 123);
  const event = sampleEvent({
    request_id: "0b6f1c1e-5d0c-4d8e-9a55-1a2b3c4d5e6f",
    start_time: start,
  });
  assert.equal(
    eventObjectKey(event),
    "2025-01-31/23-05-09-123000_0b6f1c1e-5d0c-4d8e-9a55-1a2b3c4d5e6f.json",
  );
  assert.equal(
    eventObjectKey(event, { path: "/logs//prod/", useTeamPrefix: true, useKeyPrefix: true }),
    "logs/prod/team-a/app-a/2025-01-31/23-05-09-123000_0b6f1c1e-5d0c-4d8e-9a55-1a2b3c4d5e6f.json",
  );
  // Finer-than-ms start times keep their microseconds.
  assert.match(eventObjectKey({ ...event, start_time: start + 0.456 }), /23-05-09-123456_/);
  // Missing team or alias: the segment is left out.
  const anonymous = { ...event, metadata: { tags: [], request: {} } };
  assert.match(
    eventObjectKey(anonymous, { path: "p", useTeamPrefix: true, useKeyPrefix: true }),
    /^p\/2025-01-31\//,
  );
  // Unsafe characters become "_", and no segment is "." or "..".
  const odd = {
    ...event,
    request_id: "../x",
    metadata: { ...event.metadata, user_api_key_team: "..", user_api_key_alias: "a b/ü?" },
  };
  assert.equal(
    eventObjectKey(odd, { useTeamPrefix: true, useKeyPrefix: true }),
    "__/a_b___/2025-01-31/23-05-09-123000_.._x.json",
  );
  assert.equal(sanitizeSegment(""), "_");
  assert.equal(sanitizeSegment("ok-Name_1.(x)!*'"), "ok-Name_1.(x)!*'");
});

Deno.test("keys over 1024 bytes are shortened deterministically with a hash, prefix kept", () => {
  const start = Date.UTC(2025, 5, 1, 8, 0, 0, 1);
  const base = sampleEvent({ start_time: start });
  const longId = { ...base, request_id: "r".repeat(1500) };
  const key = eventObjectKey(longId, { path: "audit/prod" });
  assert.ok(new TextEncoder().encode(key).length <= MAX_KEY_BYTES);
  assert.match(key, /^audit\/prod\/2025-06-01\/08-00-00-001000_r{64}~[0-9a-f]{16}\.json$/);
  assert.equal(eventObjectKey(longId, { path: "audit/prod" }), key, "deterministic");
  const otherId = { ...base, request_id: "r".repeat(1499) + "s" };
  assert.notEqual(
    eventObjectKey(otherId, { path: "audit/prod" }),
    key,
    "distinct ids stay distinct",
  );

  // A huge team: the prefix is cut, the date and time stay.
  const team = { ...base, metadata: { ...base.metadata, user_api_key_team: "t".repeat(1100) } };
  const teamKey = eventObjectKey(team, { path: "audit", useTeamPrefix: true });
  const bytes = new TextEncoder().encode(teamKey).length;
  assert.ok(bytes <= MAX_KEY_BYTES, `${bytes}`);
  assert.match(teamKey, /^audit\/t+~\/2025-06-01\/08-00-00-001000_.+~[0-9a-f]{16}\.json$/);
  // A huge multi-byte path: cut at a character boundary.
  const utf8 = { ...base, metadata: { ...base.metadata, user_api_key_team: "x" } };
  const pathKey = eventObjectKey(utf8, { path: "é".repeat(600), useTeamPrefix: true });
  assert.ok(new TextEncoder().encode(pathKey).length <= MAX_KEY_BYTES);
  assert.ok(pathKey.startsWith("é".repeat(100)));
  assert.ok(!pathKey.includes("\uFFFD"));
});

Deno.test("ndjson: one group per prefix and hour, deterministic batch ids, earliest time", () => {
  const h14 = Date.UTC(2025, 0, 31, 14, 59, 58, 500);
  const h15 = Date.UTC(2025, 0, 31, 15, 0, 1);
  const a = sampleEvent({ start_time: h14 + 1000 });
  const b = sampleEvent({ start_time: h14 });
  const c = sampleEvent({ start_time: h15 });
  const d = sampleEvent({
    start_time: h14,
    metadata: { ...a.metadata, user_api_key_team: "team-b" },
  });
  const groups = ndjsonGroups([a, b, c, d], { path: "nd", useTeamPrefix: true });
  assert.deepEqual(groups.map((g) => g.events), [[a, b], [c], [d]]);
  assert.match(groups[0].key, /^nd\/team-a\/2025-01-31\/14\/14-59-58-500000_[0-9a-f]{16}\.ndjson$/);
  assert.match(groups[1].key, /^nd\/team-a\/2025-01-31\/15\/15-00-01-000000_[0-9a-f]{16}\.ndjson$/);
  assert.match(groups[2].key, /^nd\/team-b\/2025-01-31\/14\//);
  assert.deepEqual(
    ndjsonGroups([a, b, c, d], { path: "nd", useTeamPrefix: true }).map((g) => g.key),
    groups.map((g) => g.key),
  );
  assert.notEqual(ndjsonGroups([a]).at(0)?.key, ndjsonGroups([a, b]).at(0)?.key);
});

Deno.test("errors: S3 XML, Retry-After and classification", () => {
  assert.deepEqual(
    parseS3Error(
      "<Error><Code>PermanentRedirect</Code><Message>Use &quot;that&quot; endpoint</Message><BucketRegion>eu-west-1</BucketRegion></Error>",
    ),
    { code: "PermanentRedirect", message: 'Use "that" endpoint', region: "eu-west-1" },
  );
  assert.deepEqual(parseS3Error('{"error":"nope"}'), {
    code: undefined,
    message: undefined,
    region: undefined,
  });
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 1000), 4000);
  assert.equal(retryAfterMs("soon"), undefined);
  const cases: [number, string | undefined, string][] = [
    [403, "AccessDenied", "keep"],
    [403, "InvalidAccessKeyId", "keep"],
    [403, "SignatureDoesNotMatch", "keep"],
    [403, "RequestTimeTooSkewed", "retry"],
    [401, undefined, "keep"],
    [404, "NoSuchBucket", "keep"],
    [404, undefined, "keep"],
    [301, "PermanentRedirect", "keep"],
    [400, "AuthorizationHeaderMalformed", "keep"],
    [400, "ExpiredToken", "keep"],
    [400, "InvalidArgument", "keep"],
    [400, "KMS.NotFoundException", "keep"],
    [400, "RequestTimeout", "retry"],
    [400, "EntityTooLarge", "permanent"],
    [400, "KeyTooLongError", "permanent"],
    [400, undefined, "permanent"],
    [413, undefined, "permanent"],
    [422, undefined, "permanent"],
    [429, undefined, "retry"],
    [500, "InternalError", "retry"],
    [503, "SlowDown", "retry"],
    [409, "OperationAborted", "retry"],
  ];
  for (const [status, code, kind] of cases) {
    assert.equal(classifyFailure({ status }, code).kind, kind, `${status} ${code}`);
  }
});

interface Put {
  method: string;
  path: string;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
}

/** A scripted S3 stand-in: records every request and answers with `answer()`. */
function receiver(answer: (req: Put, n: number) => Response | Promise<Response>) {
  const requests: Put[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const put: Put = {
      method: req.method,
      path: url.pathname,
      headers: req.headers,
      body: new Uint8Array(await req.arrayBuffer()),
    };
    requests.push(put);
    return await answer(put, requests.length);
  });
  return {
    requests,
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

async function rejection(
  promise: Promise<unknown> | unknown,
): Promise<SinkError & { status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

const xml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

Deno.test("PUT requests: path-style URL, body, Content-Type, Content-MD5, signed payload hash, SSE and SigV4 headers", async () => {
  const rx = receiver(() => new Response(null, { status: 200 }));
  try {
    const sink = createS3Sink({
      bucket: "audit",
      endpoint_url: rx.endpoint,
      region: "eu-central-1",
      ...creds,
      session_token: TOKEN,
      path: "gw",
      server_side_encryption: "aws:kms",
      sse_kms_key_id: "alias/sluice-logs",
    }, createTestContext());
    const events = sampleEvents(3);
    await sink.log(events);
    await sink.log([]); // nothing: no request
    assert.equal(rx.requests.length, 3);
    const byId = new Map(events.map((e) => [e.request_id, e]));
    for (const req of rx.requests) {
      assert.equal(req.method, "PUT");
      const event = JSON.parse(decoder.decode(req.body)) as LogEvent;
      assert.deepEqual(event, byId.get(event.request_id));
      assert.equal(req.path, `/audit/${eventObjectKey(event, { path: "gw" })}`);
      const h = req.headers;
      assert.equal(h.get("content-type"), "application/json");
      assert.equal(h.get("content-md5"), createHash("md5").update(req.body).digest("base64"));
      assert.equal(
        h.get("x-amz-content-sha256"),
        createHash("sha256").update(req.body).digest("hex"),
      );
      assert.equal(h.get("x-amz-server-side-encryption"), "aws:kms");
      assert.equal(h.get("x-amz-server-side-encryption-aws-kms-key-id"), "alias/sluice-logs");
      assert.equal(h.get("x-amz-security-token"), TOKEN);
      assert.equal(h.get("user-agent"), `sluice-s3/${denoJson.version}`);
      assert.match(h.get("x-amz-date") ?? "", /^\d{8}T\d{6}Z$/);
      const auth = h.get("authorization") ?? "";
      assert.match(
        auth,
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/eu-central-1/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`,
        ),
      );
      const signed = /SignedHeaders=([^,]+)/.exec(auth)![1].split(";");
      for (
        const name of [
          "content-md5",
          "host",
          "x-amz-content-sha256",
          "x-amz-date",
          "x-amz-security-token",
          "x-amz-server-side-encryption",
          "x-amz-server-side-encryption-aws-kms-key-id",
        ]
      ) assert.ok(signed.includes(name), `${name} is signed`);
      assert.ok(!auth.includes(SECRET));
    }
  } finally {
    await rx.close();
  }
});

Deno.test("AES256: only x-amz-server-side-encryption; ndjson: one object per batch, one event a line", async () => {
  const rx = receiver(() => new Response(null, { status: 200 }));
  try {
    const sink = createS3Sink({
      bucket: "audit",
      endpoint_url: rx.endpoint,
      ...creds,
      server_side_encryption: "AES256",
      format: "ndjson",
    }, createTestContext());
    const events = sampleEvents(5, { start_time: Date.UTC(2025, 2, 3, 4, 5, 6, 7) });
    await sink.log(events);
    assert.equal(rx.requests.length, 1);
    const [req] = rx.requests;
    assert.equal(req.headers.get("x-amz-server-side-encryption"), "AES256");
    assert.equal(req.headers.get("x-amz-server-side-encryption-aws-kms-key-id"), null);
    assert.equal(req.headers.get("content-type"), "application/x-ndjson");
    assert.equal(req.path, `/audit/${ndjsonGroups(events)[0].key}`);
    const text = decoder.decode(req.body);
    assert.ok(text.endsWith("\n"));
    assert.deepEqual(text.trimEnd().split("\n").map((l) => JSON.parse(l)), events);
  } finally {
    await rx.close();
  }
});

Deno.test("403/404/301/400 config errors: kept (not permanent), one stable message per cause, with bucket, endpoint and key id, never the secret", async () => {
  let script: () => Response = () =>
    new Response(xml("AccessDenied", `Access Denied for ${SECRET}`), { status: 403 });
  const rx = receiver(() => script());
  const ctx = createTestContext({
    env: { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN },
    permissions: s3Plugin.permissions,
  });
  try {
    const sink = await s3Plugin.create(
      {
        bucket: "audit",
        endpoint_url: `${rx.endpoint}/?token=q`,
        server_side_encryption: "aws:kms",
      },
      ctx,
    );
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const error = await rejection(sink.log(sampleEvents(2)));
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 403);
      messages.push(error.message);
    }
    assert.equal(new Set(messages).size, 1, "a stable message: the gateway logs it once");
    const [message] = messages;
    for (
      const part of [
        'bucket "audit"',
        rx.endpoint,
        KEY_ID,
        "(from AWS_ACCESS_KEY_ID)",
        "403",
        "AccessDenied",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "kept",
      ]
    ) assert.ok(message.includes(part), `${part} not in: ${message}`);
    assert.ok(!message.includes(SECRET) && !message.includes(TOKEN), message);
    assert.ok(message.includes("[SECRET]"), "a secret echoed by the server is scrubbed");
    assert.ok(!message.includes("token=q"));
    assert.deepEqual(ctx.logs, [], "the plugin logs nothing itself: the gateway logs the error");

    // Other causes: each has its own stable message.
    const others: [() => Response, RegExp][] = [
      [
        () =>
          new Response(xml("NoSuchBucket", "The specified bucket does not exist"), { status: 404 }),
        /404 Not Found: NoSuchBucket: .*check the bucket name, endpoint_url, region and path_style/,
      ],
      [
        () =>
          new Response(xml("PermanentRedirect", "wrong endpoint"), {
            status: 301,
            headers: { "x-amz-bucket-region": "eu-west-1" },
          }),
        /301 .*the bucket is in region eu-west-1, not us-east-1: set region: eu-west-1/,
      ],
      [
        () => new Response(xml("ExpiredToken", "The provided token has expired."), { status: 400 }),
        /ExpiredToken.*renew the credentials/,
      ],
      [
        () => new Response(xml("KMS.NotFoundException", "Invalid keyId"), { status: 400 }),
        /KMS\.NotFoundException.*check this sink's config/,
      ],
    ];
    for (const [answer, pattern] of others) {
      script = answer;
      const seen = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const error = await rejection(sink.log(sampleEvents(i + 1)));
        assert.notEqual(error.permanent, true, error.message);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes(SECRET));
        seen.add(error.message);
      }
      assert.equal(seen.size, 1, `${pattern}: the same message for every batch`);
    }
  } finally {
    await rx.close();
  }
});

Deno.test("retryable answers: 5xx, SlowDown and 429 with Retry-After; malformed objects are permanent", async () => {
  let script: () => Response = () => new Response("", { status: 500 });
  const rx = receiver(() => script());
  try {
    const sink = createS3Sink(
      { bucket: "audit", endpoint_url: rx.endpoint, ...creds },
      createTestContext(),
    );
    let error = await rejection(sink.log(sampleEvents(2)));
    assert.notEqual(error.permanent, true);
    assert.equal(error.retryAfterMs, undefined);
    assert.match(error.message, /answered 500 Internal Server Error; retrying/);

    script = () =>
      new Response(xml("SlowDown", "Please reduce your request rate."), { status: 503 });
    error = await rejection(sink.log(sampleEvents(2)));
    assert.equal(error.retryAfterMs, 1000);
    assert.match(
      error.message,
      /503 Service Unavailable: SlowDown: Please reduce your request rate/,
    );

    script = () =>
      new Response(xml("SlowDown", "slow"), { status: 503, headers: { "retry-after": "7" } });
    error = await rejection(sink.log(sampleEvents(2)));
    assert.equal(error.retryAfterMs, 7000);

    script = () =>
      new Response(xml("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"), {
        status: 400,
      });
    error = await rejection(sink.log(sampleEvents(2)));
    assert.equal(error.permanent, true);
    assert.match(error.message, /refused an object as malformed: 400 Bad Request: EntityTooLarge/);
    assert.match(error.message, /2 events refused/);
  } finally {
    await rx.close();
  }

  // Connection refused and timeouts are retryable; the message is stable (no object URL).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const sink = createS3Sink({ bucket: "audit", endpoint_url: down, ...creds }, createTestContext());
  const first = await rejection(sink.log(sampleEvents(1)));
  const second = await rejection(sink.log(sampleEvents(1)));
  assert.notEqual(first.permanent, true);
  assert.match(first.message, new RegExp(`^s3: a PUT to bucket "audit" at ${down} .* failed: `));
  assert.equal(first.message, second.message);
  assert.ok(!first.message.includes(".json"), first.message);

  const slow = receiver(async () => {
    await new Promise((r) => setTimeout(r, 300));
    return new Response(null, { status: 200 });
  });
  try {
    const timed = createS3Sink(
      { bucket: "audit", endpoint_url: slow.endpoint, ...creds, timeout_ms: 50 },
      createTestContext(),
    );
    const error = await rejection(timed.log(sampleEvents(1)));
    assert.match(error.message, /timed out after 50 ms; retrying/);
    assert.notEqual(error.permanent, true);
  } finally {
    await slow.close();
  }
});

Deno.test("a partial failure is retried without re-uploading confirmed objects or writing other keys", async () => {
  const events = sampleEvents(10);
  const failKey = eventObjectKey(events[3]);
  let failing = true;
  const rx = receiver((req) => {
    if (failing && req.path.endsWith(failKey)) {
      return new Response(xml("InternalError", "We encountered an internal error."), {
        status: 500,
      });
    }
    return new Response(null, { status: 200 });
  });
  try {
    const sink = createS3Sink(
      { bucket: "audit", endpoint_url: rx.endpoint, ...creds },
      createTestContext(),
    );
    const error = await rejection(sink.log(events));
    assert.notEqual(error.permanent, true);
    assert.equal(rx.requests.length, 10);
    failing = false;
    await sink.log(events);
    assert.equal(rx.requests.length, 11, "only the failed object is sent again");
    assert.ok(rx.requests[10].path.endsWith(failKey));
    const keys = new Set(rx.requests.map((r) => r.path));
    assert.equal(keys.size, 10, "every event under its one deterministic key");
    // A later, unrelated retry of the same batch (after success) writes the same keys.
    await sink.log(events);
    assert.equal(new Set(rx.requests.map((r) => r.path)).size, 10);
  } finally {
    await rx.close();
  }
});

Deno.test("at most 8 PUTs in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const rx = receiver(async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    return new Response(null, { status: 200 });
  });
  try {
    const sink = createS3Sink(
      { bucket: "audit", endpoint_url: rx.endpoint, ...creds },
      createTestContext(),
    );
    await sink.log(sampleEvents(30));
    assert.equal(rx.requests.length, 30);
    assert.ok(peak <= 8 && peak > 1, `peak ${peak}`);
  } finally {
    await rx.close();
  }
});
