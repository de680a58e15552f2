/**
 * The s3 sink against an in-process S3-compatible store (npm:s3rver on
 * 127.0.0.1): objects land under the documented keys (plain, `path`, team
 * and key prefixes, NDJSON) and read back with the official AWS SDK equal to
 * the events; the SigV4 signature of a captured request is recomputed with
 * `@smithy/signature-v4`; SSE headers; keys over 1,024 bytes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { SignatureV4 } from "npm:@smithy/signature-v4@5.7.5";
import { Sha256 } from "npm:@aws-crypto/sha256-js@5.2.0";
import { createS3Sink, type S3Config } from "../plugins/s3/mod.ts";
import { createTestContext, sampleEvent } from "../core/testing.ts";
import type { LogEvent } from "../core/plugin.ts";
import {
  getObject,
  headObject,
  listKeys,
  S3RVER_KEY_ID,
  sdkClient,
  startS3rver,
} from "./fakes/s3rver.ts";

const SECRET = "s3-store-test-secret-Zq81/kLm0pQ";
const TOKEN = "s3-store-test-session-token-AbC123";
const creds = { access_key_id: S3RVER_KEY_ID, secret_access_key: SECRET };

/** The key the issue documents, computed here from the event's fields (not with the plugin's code). */
function documentedKey(event: LogEvent, prefix = ""): string {
  const iso = new Date(event.start_time).toISOString(); // 2025-01-31T14:05:09.123Z
  const date = iso.slice(0, 10);
  const time = `${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}-${
    iso.slice(20, 23)
  }000`;
  return `${prefix}${date}/${time}_${event.request_id}.json`;
}

/** Events with distinct teams and aliases, start times spread over two days. */
function events(): LogEvent[] {
  const base = Date.UTC(2025, 0, 31, 23, 59, 58, 250);
  return [
    sampleEvent({ start_time: base }),
    sampleEvent({ start_time: base + 1_750 }), // the next day
    sampleEvent({
      start_time: base + 5_000,
      metadata: {
        user_api_key_team: "team-b",
        user_api_key_alias: "batch-job",
        tags: [],
        request: {},
      },
    }),
    sampleEvent({ start_time: base + 7_000, metadata: { tags: [], request: {} } }),
  ];
}

/** A ctx whose fetch records each request before sending it. */
function capturingContext() {
  const captured: { url: string; headers: Headers; body: Uint8Array }[] = [];
  const ctx = createTestContext({
    fetch: (input, init) => {
      captured.push({
        url: String(input),
        headers: new Headers(init?.headers),
        body: init?.body as Uint8Array,
      });
      return fetch(input, init);
    },
  });
  return { ctx, captured };
}

Deno.test("objects land under the documented keys and read back, with the AWS SDK, equal to the events", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  try {
    const batch = events();
    const team = (e: LogEvent) =>
      e.metadata.user_api_key_team ? `${e.metadata.user_api_key_team}/` : "";
    const alias = (e: LogEvent) =>
      e.metadata.user_api_key_alias ? `${e.metadata.user_api_key_alias}/` : "";
    const cases: { config: Partial<S3Config>; prefix: (e: LogEvent) => string }[] = [
      { config: {}, prefix: () => "" },
      { config: { path: "/gateway//prod/" }, prefix: () => "gateway/prod/" },
      { config: { use_team_prefix: true }, prefix: team },
      { config: { use_key_prefix: true }, prefix: alias },
      {
        config: { use_team_prefix: true, use_key_prefix: true, path: "tk" },
        prefix: (e) => `tk/${team(e)}${alias(e)}`,
      },
    ];
    for (const [i, { config, prefix }] of cases.entries()) {
      // each case writes under its own root so the listings do not mix
      const root = `case${i}/`;
      const sink = createS3Sink(
        {
          bucket: "logs",
          endpoint_url: s3.endpoint,
          ...creds,
          ...config,
          path: root + (config.path ?? ""),
        },
        createTestContext(),
      );
      await sink.log(batch);
      const expected = batch.map((e) => documentedKey(e, root + prefix(e)));
      const listed = await listKeys(client, "logs", root);
      assert.deepEqual(listed.sort(), [...expected].sort(), JSON.stringify(config));
      for (const [n, key] of expected.entries()) {
        const object = await getObject(client, "logs", key);
        assert.equal(object.contentType, "application/json");
        assert.deepEqual(JSON.parse(object.text), batch[n]);
        const head = await headObject(client, "logs", key);
        assert.equal(
          head.etag,
          `"${createHash("md5").update(object.text).digest("hex")}"`,
          "the store got exactly the bytes sent",
        );
      }
    }
    const all = await listKeys(client, "logs");
    assert.equal(all.length, batch.length * cases.length);
    assert.ok(
      all.some((k) => k.includes("/2025-01-31/")) && all.some((k) => k.includes("/2025-02-01/")),
    );
    assert.ok(all.includes(documentedKey(batch[2], "case4/tk/team-b/batch-job/")));
    assert.ok(all.includes(documentedKey(batch[0], "case4/tk/team-a/app-a/")));
    assert.ok(all.includes(documentedKey(batch[3], "case4/tk/")), "no team, no alias: no segments");
    assert.ok(all.includes(documentedKey(batch[0], "case0/")), "plain: the date directly");
  } finally {
    client.destroy();
    await s3.close();
  }
});

Deno.test("ndjson: one object per prefix and hour, lines equal the events", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  try {
    const batch = events();
    const sink = createS3Sink({
      bucket: "logs",
      endpoint_url: s3.endpoint,
      ...creds,
      path: "nd",
      format: "ndjson",
      use_team_prefix: true,
    }, createTestContext());
    await sink.log(batch);
    const keys = (await listKeys(client, "logs", "nd/")).sort();
    assert.equal(keys.length, 4, keys.join("\n"));
    const pattern =
      /^nd\/(?:(team-a|team-b)\/)?(\d{4}-\d\d-\d\d)\/(\d\d)\/(\d\d)-\d\d-\d\d-\d{6}_[0-9a-f]{16}\.ndjson$/;
    const seen: LogEvent[] = [];
    for (const key of keys) {
      const match = pattern.exec(key);
      assert.ok(match, key);
      const object = await getObject(client, "logs", key);
      assert.equal(object.contentType, "application/x-ndjson");
      const lines = object.text.trimEnd().split("\n").map((l) => JSON.parse(l) as LogEvent);
      for (const event of lines) {
        const iso = new Date(event.start_time).toISOString();
        assert.equal(match[2], iso.slice(0, 10), "the object's day is each event's day");
        assert.equal(match[3], iso.slice(11, 13), "the object's hour is each event's hour");
        assert.equal(match[1], event.metadata.user_api_key_team);
      }
      assert.equal(match[4], match[3], "the file name starts with the first event's time");
      seen.push(...lines);
    }
    assert.deepEqual(
      seen.sort((a, b) => a.start_time - b.start_time),
      [...batch].sort((a, b) => a.start_time - b.start_time),
    );
    // The same batch again writes the same keys (a retry is idempotent).
    await sink.log(batch);
    assert.deepEqual((await listKeys(client, "logs", "nd/")).sort(), keys);
  } finally {
    client.destroy();
    await s3.close();
  }
});

Deno.test("the SigV4 signature of a captured PUT matches one recomputed with @smithy/signature-v4", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  try {
    const { ctx, captured } = capturingContext();
    const sink = createS3Sink({
      bucket: "logs",
      endpoint_url: s3.endpoint,
      region: "eu-west-3",
      ...creds,
      session_token: TOKEN,
      path: "sig/env=prod (eu)",
      server_side_encryption: "aws:kms",
      sse_kms_key_id: "arn:aws:kms:eu-west-3:111122223333:key/1234abcd",
    }, ctx);
    const event = sampleEvent();
    await sink.log([event]);
    assert.equal(captured.length, 1);
    const [req] = captured;
    const url = new URL(req.url);
    assert.equal(url.pathname.split("/").slice(0, 4).join("/"), "/logs/sig/env%3Dprod%20%28eu%29");

    // The payload hash and Content-MD5 are the body's.
    assert.equal(
      req.headers.get("x-amz-content-sha256"),
      createHash("sha256").update(req.body).digest("hex"),
    );
    assert.equal(
      req.headers.get("content-md5"),
      createHash("md5").update(req.body).digest("base64"),
    );
    assert.equal(req.headers.get("x-amz-server-side-encryption"), "aws:kms");
    assert.equal(
      req.headers.get("x-amz-server-side-encryption-aws-kms-key-id"),
      "arn:aws:kms:eu-west-3:111122223333:key/1234abcd",
    );

    const authorization = req.headers.get("authorization")!;
    const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)![1].split(";");
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
    ) assert.ok(signedNames.includes(name), `${name} is signed`);

    const recompute = async (secretAccessKey: string, tamper: Record<string, string> = {}) => {
      const headers: Record<string, string> = {};
      for (const name of signedNames) {
        headers[name] = name === "host" ? url.host : req.headers.get(name)!;
      }
      Object.assign(headers, tamper);
      const amzDate = req.headers.get("x-amz-date")!; // 20250131T140509Z
      const signingDate = new Date(
        `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${
          amzDate.slice(11, 13)
        }:${amzDate.slice(13, 15)}Z`,
      );
      const signer = new SignatureV4({
        service: "s3",
        region: "eu-west-3",
        credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey, sessionToken: TOKEN },
        sha256: Sha256,
        uriEscapePath: false, // S3 paths are escaped once
        applyChecksum: false,
      });
      const signed = await signer.sign({
        method: "PUT",
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers,
        body: req.body,
      }, { signingDate });
      return signed.headers.authorization ?? signed.headers.Authorization;
    };
    assert.equal(await recompute(SECRET), authorization);
    // Controls: another secret, or a changed signed header, gives another signature.
    assert.notEqual(await recompute("another-secret"), authorization);
    assert.notEqual(
      await recompute(SECRET, { "x-amz-content-sha256": "0".repeat(64) }),
      authorization,
    );

    // And the object is in the store, intact.
    const [key] = await listKeys(client, "logs", "sig/");
    assert.deepEqual(JSON.parse((await getObject(client, "logs", key)).text), event);
  } finally {
    client.destroy();
    await s3.close();
  }
});

Deno.test("SSE headers only when configured; AES256 has no KMS key header", async () => {
  const s3 = await startS3rver(["logs"]);
  try {
    for (const sse of [undefined, "AES256", "aws:kms"] as const) {
      const { ctx, captured } = capturingContext();
      const sink = createS3Sink({
        bucket: "logs",
        endpoint_url: s3.endpoint,
        ...creds,
        server_side_encryption: sse,
        ...(sse === "aws:kms" ? { sse_kms_key_id: "alias/logs" } : {}),
      }, ctx);
      await sink.log([sampleEvent()]);
      const headers = captured[0].headers;
      assert.equal(headers.get("x-amz-server-side-encryption"), sse ?? null);
      assert.equal(
        headers.get("x-amz-server-side-encryption-aws-kms-key-id"),
        sse === "aws:kms" ? "alias/logs" : null,
      );
    }
  } finally {
    await s3.close();
  }
});

Deno.test("a key over 1,024 bytes is shortened, stored and readable; the prefix is kept", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  try {
    // Segments under 255 bytes each (s3rver stores keys as directories), 1,400 bytes in all.
    const path = Array.from({ length: 4 }, (_, i) => `${i}${"p".repeat(119)}`).join("/");
    const event = sampleEvent({
      request_id: `req-${"r".repeat(300)}`,
      metadata: {
        user_api_key_team: "t".repeat(230),
        user_api_key_alias: "a".repeat(230),
        tags: [],
        request: {},
      },
    });
    const sink = createS3Sink(
      {
        bucket: "logs",
        endpoint_url: s3.endpoint,
        ...creds,
        path,
        use_team_prefix: true,
        use_key_prefix: true,
      },
      createTestContext(),
    );
    await sink.log([event]);
    await sink.log([event]); // deterministic: the same key again
    const keys = await listKeys(client, "logs");
    assert.equal(keys.length, 1, keys.join("\n"));
    const [key] = keys;
    assert.ok(new TextEncoder().encode(key).length <= 1024, `${key.length}`);
    assert.ok(key.startsWith(`${path}/${"t".repeat(230)}/aaaa`), "the prefix is kept");
    const date = new Date(event.start_time).toISOString().slice(0, 10);
    assert.match(
      key,
      new RegExp(`~/${date}/\\d\\d-\\d\\d-\\d\\d-\\d{6}_req-r+~[0-9a-f]{16}\\.json$`),
    );
    assert.deepEqual(JSON.parse((await getObject(client, "logs", key)).text), event);
  } finally {
    client.destroy();
    await s3.close();
  }
});
