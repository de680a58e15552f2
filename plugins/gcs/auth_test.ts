import assert from "node:assert/strict";
import {
  createGoogleAuth,
  GOOGLE_TOKEN_URI,
  googleAuthUrls,
  parseGoogleKey,
  resolveGoogleCredentials,
  TOKEN_REFRESH_MARGIN_MS,
} from "./auth.ts";
import { createTestContext } from "@sluice/core/testing";
import { startGoogleFake } from "./test_support.ts";
import type { HttpSinkError } from "@sluice/core/sink-http";

const SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";
const noEnv = () => undefined;

/** A clock the test moves. */
function fakeClock() {
  let at = Date.now();
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

Deno.test("auth: a service account's JWT is RS256-signed with its key and carries Google's claims", async () => {
  const google = await startGoogleFake({ scope: SCOPE });
  try {
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: google.keyJson }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: createTestContext().fetch },
    );
    const before = Math.floor(Date.now() / 1000);
    const header = await auth.authorization();
    assert.deepEqual(google.refusals, []);
    assert.equal(google.grants.length, 1);
    const grant = google.grants[0];
    assert.equal(header, `Bearer ${grant.token}`);
    // The fake verified the signature with the public key; the claims are Google's.
    assert.deepEqual(grant.header, {
      alg: "RS256",
      typ: "JWT",
      kid: google.serviceAccount.private_key_id,
    });
    const claims = grant.claims!;
    assert.equal(claims.iss, google.serviceAccount.client_email);
    assert.equal(claims.aud, google.serviceAccount.token_uri);
    assert.equal(claims.scope, SCOPE);
    assert.ok((claims.iat as number) >= before && (claims.iat as number) <= before + 5);
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);
    assert.equal(auth.principal, `service account ${google.serviceAccount.client_email}`);
  } finally {
    await google.close();
  }
});

Deno.test("auth: a token is cached, shared by concurrent callers and renewed before it expires", async () => {
  const clock = fakeClock();
  const google = await startGoogleFake({ scope: SCOPE, expiresIn: 3600, now: clock.now });
  try {
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: google.keyJson }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: createTestContext().fetch, now: clock.now },
    );
    const first = await Promise.all(Array.from({ length: 8 }, () => auth.authorization()));
    assert.equal(google.grants.length, 1, "one token request for eight concurrent callers");
    assert.equal(new Set(first).size, 1);
    // Just before the renewal point: still the cached token.
    clock.advance(3600_000 - TOKEN_REFRESH_MARGIN_MS - 1000);
    assert.equal(await auth.authorization(), first[0]);
    assert.equal(google.grants.length, 1);
    // Inside the margin, before the token expires: a new one.
    clock.advance(2000);
    const renewed = await auth.authorization();
    assert.equal(google.grants.length, 2);
    assert.notEqual(renewed, first[0]);
    assert.equal(renewed, `Bearer ${google.grants[1].token}`);
    // invalidate() drops the cache at once (after a 401).
    auth.invalidate();
    await auth.authorization();
    assert.equal(google.grants.length, 3);
  } finally {
    await google.close();
  }
});

Deno.test("auth: a short-lived token is renewed at half its lifetime", async () => {
  const clock = fakeClock();
  const google = await startGoogleFake({ scope: SCOPE, expiresIn: 60, now: clock.now });
  try {
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: google.keyJson }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: createTestContext().fetch, now: clock.now },
    );
    await auth.authorization();
    clock.advance(29_000);
    await auth.authorization();
    assert.equal(google.grants.length, 1);
    clock.advance(2_000);
    await auth.authorization();
    assert.equal(google.grants.length, 2);
  } finally {
    await google.close();
  }
});

Deno.test("auth: a refused key is a credential failure (kept, not permanent) and never shows a secret", async () => {
  const google = await startGoogleFake({ scope: SCOPE });
  try {
    // A key the token endpoint does not know: its own valid JWT, signed by another key.
    const other = await startGoogleFake({ scope: SCOPE });
    const wrongKey = JSON.stringify({
      ...google.serviceAccount,
      private_key: other.serviceAccount.private_key,
    });
    await other.close();
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: wrongKey }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: createTestContext().fetch },
    );
    const error: HttpSinkError = await auth.authorization().then(() => {
      throw new Error("a token for an unknown key");
    }, (e) => e);
    assert.deepEqual(google.refusals, ["token: Invalid JWT Signature."]);
    assert.notEqual(error.permanent, true, "the events are kept");
    assert.equal(error.status, 400);
    assert.match(error.message, /refused a token for service account llm-logger@/);
    assert.match(error.message, /invalid_grant: Invalid JWT Signature/);
    assert.match(error.message, /config\.service_account_json/);
    assert.match(error.message, /the events are kept and retried/);
    for (const secret of [other.serviceAccount.private_key, "BEGIN PRIVATE KEY", "eyJ"]) {
      assert.ok(!error.message.includes(secret), "no key or assertion in the message");
    }
  } finally {
    await google.close();
  }
});

Deno.test("auth: a 5xx from the token endpoint is retryable; a token echoed in an error is scrubbed", async () => {
  let echo = "";
  const google = await startGoogleFake({
    scope: SCOPE,
    script: (kind) =>
      kind === "token" && echo
        ? Response.json({ error: "backend_error", error_description: `token ${echo}` }, {
          status: 503,
        })
        : undefined,
  });
  const clock = fakeClock();
  try {
    const auth = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: google.keyJson }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: createTestContext().fetch, now: clock.now },
    );
    await auth.authorization();
    echo = google.grants[0].token;
    clock.advance(3600_000);
    const error = await auth.authorization().then(() => undefined, (e) => e);
    assert.equal(error.status, 503);
    assert.notEqual(error.permanent, true);
    assert.ok(!error.message.includes(echo));
    assert.match(error.message, /\[SECRET\]/);
  } finally {
    await google.close();
  }
});

Deno.test("auth: key files, authorized users and the metadata server", async () => {
  const google = await startGoogleFake({ scope: SCOPE });
  const ctx = createTestContext();
  try {
    // GCS_PATH_SERVICE_ACCOUNT (LiteLLM's) before GOOGLE_APPLICATION_CREDENTIALS.
    const path = await google.writeKeyFile();
    const env: Record<string, string> = {
      GCS_PATH_SERVICE_ACCOUNT: path,
      GOOGLE_APPLICATION_CREDENTIALS: "/nowhere.json",
    };
    const source = resolveGoogleCredentials({}, (n) => env[n]);
    assert.deepEqual(source, { kind: "file", path, from: "GCS_PATH_SERVICE_ACCOUNT" });
    const fromFile = await createGoogleAuth(source, {
      name: "gcs",
      scopes: [SCOPE],
      fetch: ctx.fetch,
    });
    await fromFile.authorization();
    assert.equal(google.grants.at(-1)?.kind, "jwt-bearer");

    // An authorized user (gcloud auth application-default login).
    const user = JSON.stringify({
      type: "authorized_user",
      client_id: "32555940559.apps.googleusercontent.com",
      client_secret: "d-FL95Q19q7MQmFpd7hHD0Ty",
      refresh_token: "1//0refresh-token-example",
      token_uri: `${google.url}/token`,
    });
    const asUser = await createGoogleAuth(
      resolveGoogleCredentials({ service_account_json: user }, noEnv),
      { name: "gcs", scopes: [SCOPE], fetch: ctx.fetch },
    );
    assert.equal(await asUser.authorization(), `Bearer ${google.grants.at(-1)?.token}`);
    assert.equal(google.grants.at(-1)?.kind, "refresh_token");

    // The metadata server (GCE_METADATA_HOST points it at the fake).
    const host = new URL(google.url).host;
    const metadata = resolveGoogleCredentials(
      {},
      (n) => n === "GCE_METADATA_HOST" ? host : undefined,
    );
    assert.deepEqual(metadata, { kind: "metadata", host, from: "GCE_METADATA_HOST" });
    assert.deepEqual(googleAuthUrls(metadata), [`http://${host}/`]);
    const onGce = await createGoogleAuth(metadata, {
      name: "gcs",
      scopes: [SCOPE],
      fetch: ctx.fetch,
    });
    assert.equal(await onGce.authorization(), `Bearer ${google.grants.at(-1)?.token}`);
    assert.equal(google.grants.at(-1)?.kind, "metadata");
    assert.deepEqual(google.refusals, []);
  } finally {
    ctx.controller.abort();
    await google.close();
  }
});

Deno.test("auth: no credentials anywhere names every way to give them; keys are checked at start", async () => {
  const ctx = createTestContext();
  const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const host = `127.0.0.1:${refused.addr.port}`;
  refused.close();
  const auth = await createGoogleAuth(
    { kind: "metadata", host, from: "GCE_METADATA_HOST" },
    { name: "gcs", scopes: [SCOPE], fetch: ctx.fetch },
  );
  const error = await auth.authorization().then(() => undefined, (e) => e);
  assert.notEqual(error.permanent, true);
  assert.match(error.message, /No Google credentials were found: set service_account_file/);
  assert.match(error.message, /GCS_PATH_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS/);

  const start = (source: Parameters<typeof createGoogleAuth>[0], read?: () => Promise<string>) =>
    createGoogleAuth(source, {
      name: "gcs",
      scopes: [SCOPE],
      fetch: ctx.fetch,
      ...(read ? { readTextFile: read } : {}),
    }).then(() => "", (e: Error) => e.message);
  assert.match(
    await start({ kind: "file", path: "/no/such/key.json", from: "GCS_PATH_SERVICE_ACCOUNT" }),
    /^gcs: cannot read the key file named by GCS_PATH_SERVICE_ACCOUNT \(\/no\/such\/key\.json\): no such file$/,
  );
  // In the sandbox a plugin reads only granted files: the message says what to do.
  const sandboxed = await start(
    { kind: "file", path: "/keys/sa.json", from: "GCS_PATH_SERVICE_ACCOUNT" },
    () => Promise.reject(new Deno.errors.NotCapable("Requires read access")),
  );
  assert.match(sandboxed, /service_account_json \(os\.environ\/NAME works\)/);
  assert.match(sandboxed, /list the file in this sink entry's permissions\.read/);
  const secret = "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----";
  const badKey = await start({
    kind: "json",
    json: JSON.stringify({ type: "service_account", client_email: "a@b", private_key: secret }),
    from: "config.service_account_json",
  });
  assert.match(badKey, /is not an RSA key in PKCS#8 PEM form/);
  assert.ok(!badKey.includes("not-a-key"));
  ctx.controller.abort();
});

Deno.test("auth: parseGoogleKey names what is missing, never a value", () => {
  const bad = (json: string) => {
    try {
      parseGoogleKey(json, "GOOGLE_APPLICATION_CREDENTIALS");
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };
  assert.equal(
    bad("{not json"),
    "the credentials from GOOGLE_APPLICATION_CREDENTIALS are not JSON (expected a key file's contents)",
  );
  assert.equal(
    bad(JSON.stringify({ type: "service_account", private_key: "secret-value-123456" })),
    "the service account key from GOOGLE_APPLICATION_CREDENTIALS has no client_email",
  );
  assert.match(
    bad(JSON.stringify({ type: "external_account", audience: "x" })),
    /type "external_account": Sluice takes a service account key/,
  );
  const key = parseGoogleKey(
    JSON.stringify({ type: "service_account", client_email: "a@b.iam", private_key: "k" }),
    "x",
  );
  assert.equal(key.token_uri, GOOGLE_TOKEN_URI);
  assert.equal(
    bad(
      JSON.stringify({
        type: "service_account",
        client_email: "a",
        private_key: "k",
        token_uri: "ftp://x",
      }),
    ),
    "the token_uri of the key from GOOGLE_APPLICATION_CREDENTIALS is not an http(s) URL",
  );
});
