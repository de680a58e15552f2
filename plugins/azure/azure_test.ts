import assert from "node:assert/strict";
import {
  azureErrorText,
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  createEntraAuth,
  entraTokenUrl,
  importAccountKey,
  parseConnectionString,
  sharedKeyAuthorization,
  sharedKeyStringToSign,
} from "./mod.ts";
import type { HttpSinkError } from "@sluice/core/sink-http";
import { startAzurite, startEntraFake } from "./test_support.ts";

Deno.test("shared key: the string to sign follows Microsoft's canonical form", () => {
  const headers = new Headers({
    "x-ms-version": "2021-08-06",
    "x-ms-date": "Sun, 06 Dec 2026 12:00:00 GMT",
    "X-MS-Meta-Note": "  two   spaces  ",
    "content-length": "0",
    "content-type": "application/json",
    "date": "ignored when x-ms-date is set",
    "if-match": '"0x1"',
  });
  const url =
    "https://acct.blob.core.windows.net/logs/a%20b/c.json?restype=container&COMP=list&b=2&b=1";
  assert.equal(
    sharedKeyStringToSign({ method: "put", url, headers }, "acct"),
    [
      "PUT",
      "", // content-encoding
      "", // content-language
      "", // content-length 0
      "", // content-md5
      "application/json",
      "", // date (x-ms-date is set)
      "", // if-modified-since
      '"0x1"',
      "", // if-none-match
      "", // if-unmodified-since
      "", // range
      "x-ms-date:Sun, 06 Dec 2026 12:00:00 GMT",
      "x-ms-meta-note:two spaces",
      "x-ms-version:2021-08-06",
      "/acct/logs/a%20b/c.json",
      "b:1,2",
      "comp:list",
      "restype:container",
    ].join("\n"),
  );
});

Deno.test("shared key: Azurite accepts the signature and refuses a wrong key", async () => {
  const azurite = await startAzurite();
  try {
    const put = async (url: string, accountKey: string, body?: string) => {
      const headers = new Headers({
        "x-ms-date": new Date().toUTCString(),
        "x-ms-version": "2021-08-06",
      });
      if (body !== undefined) {
        headers.set("x-ms-blob-type", "BlockBlob");
        headers.set("content-type", "application/json; charset=utf-8");
        headers.set("content-length", String(new TextEncoder().encode(body).length));
      }
      const key = await importAccountKey(accountKey);
      headers.set(
        "authorization",
        await sharedKeyAuthorization({ method: "PUT", url, headers }, AZURITE_ACCOUNT_NAME, key),
      );
      const res = await fetch(url, { method: "PUT", headers, body });
      return { status: res.status, text: await res.text(), headers: res.headers };
    };
    const container = `${azurite.blobEndpoint}/llm-logs`;
    assert.equal((await put(`${container}?restype=container`, AZURITE_ACCOUNT_KEY)).status, 201);
    const name = "gateway/team a/2026-12-06/12-00-00-000000_é.json";
    const path = name.split("/").map(encodeURIComponent).join("/");
    const body = JSON.stringify({ request_id: "r1", text: "héllo" });
    assert.equal((await put(`${container}/${path}`, AZURITE_ACCOUNT_KEY, body)).status, 201);
    const blobs = await azurite.blobs("llm-logs");
    assert.equal(blobs.get(name)?.body, body);

    const wrong = new Uint8Array(64).fill(7).toBase64();
    const refused = await put(`${container}/other.json`, wrong, "{}");
    assert.equal(refused.status, 403);
    // Azure says AuthenticationFailed, Azurite AuthorizationFailure: both 403.
    assert.match(azureErrorText(refused.text, refused.headers), /^Auth\w+: /);
    assert.ok(!(await azurite.blobs("llm-logs")).has("other.json"));
  } finally {
    await azurite.close();
  }
});

Deno.test("shared key: a key that is not base64 is refused without being shown", async () => {
  await assert.rejects(importAccountKey("not base64 at all!"), (error: Error) => {
    assert.match(error.message, /not base64/);
    assert.ok(!error.message.includes("not base64 at all!"));
    return true;
  });
});

Deno.test("connection strings: Azurite's, UseDevelopmentStorage, Azure's, SAS; errors quote nothing", () => {
  const azurite = parseConnectionString(
    `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};` +
      "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
  );
  assert.deepEqual(azurite, {
    accountName: "devstoreaccount1",
    accountKey: AZURITE_ACCOUNT_KEY,
    blobEndpoint: "http://127.0.0.1:10000/devstoreaccount1",
    protocol: "http",
    endpointSuffix: "core.windows.net",
  });
  assert.deepEqual(parseConnectionString("UseDevelopmentStorage=true"), azurite);
  assert.equal(
    parseConnectionString(
      "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://azurite.local",
    ).blobEndpoint,
    "http://azurite.local:10000/devstoreaccount1",
  );
  assert.deepEqual(
    parseConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net",
    ),
    {
      accountName: "logs",
      accountKey: "a2V5",
      blobEndpoint: "https://logs.blob.core.usgovcloudapi.net",
      protocol: "https",
      endpointSuffix: "core.usgovcloudapi.net",
    },
  );
  const sas = parseConnectionString(
    "BlobEndpoint=https://logs.blob.core.windows.net;SharedAccessSignature=?sv=2022-11-02&sig=abc%3D",
  );
  assert.equal(sas.sharedAccessSignature, "sv=2022-11-02&sig=abc%3D");
  assert.equal(sas.accountName, undefined);
  for (const bad of ["AccountKey=c2VjcmV0LWtleQ==", "AccountName=logs", "garbage-c2VjcmV0"]) {
    assert.throws(() => parseConnectionString(bad), (error: Error) => {
      assert.ok(!error.message.includes("c2VjcmV0"), error.message);
      return true;
    });
  }
});

Deno.test("entra: the token URL follows the authority host", () => {
  assert.equal(
    entraTokenUrl("contoso.onmicrosoft.com"),
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
  );
  assert.equal(
    entraTokenUrl("t", "https://login.chinacloudapi.cn/"),
    "https://login.chinacloudapi.cn/t/oauth2/v2.0/token",
  );
  assert.throws(() => entraTokenUrl("t", "login.microsoftonline.com"), /not a URL/);
});

Deno.test("entra: one token request for concurrent callers, cached, renewed before expiry and after invalidate", async () => {
  const entra = startEntraFake({ lifetimeS: 3600 });
  let clock = Date.parse("2026-12-06T12:00:00Z");
  try {
    const auth = createEntraAuth({
      tenantId: entra.tenantId,
      clientId: entra.clientId,
      clientSecret: entra.clientSecret,
      authorityHost: entra.authorityHost,
      from: "test",
    }, {
      name: "azure-test",
      scope: "https://storage.azure.com/.default",
      fetch,
      now: () => clock,
    });
    const values = await Promise.all(Array.from({ length: 10 }, () => auth.authorization()));
    assert.equal(entra.requests, 1, "single flight");
    assert.equal(new Set(values).size, 1);
    assert.equal(values[0], `Bearer ${entra.grants[0].token}`);
    clock += 54 * 60_000; // 6 minutes left: still cached
    await auth.authorization();
    assert.equal(entra.requests, 1);
    clock += 2 * 60_000; // 4 minutes left: renewed (5 minutes ahead)
    assert.equal(await auth.authorization(), `Bearer ${entra.grants[1].token}`);
    assert.equal(entra.requests, 2);
    auth.invalidate(); // after a 401
    assert.equal(await auth.authorization(), `Bearer ${entra.grants[2].token}`);
    assert.deepEqual(entra.refusals, []);
    assert.deepEqual(auth.secrets(), [entra.clientSecret, entra.grants[2].token]);
  } finally {
    await entra.close();
  }
});

Deno.test("entra: refusals keep the events with a message naming the app and the settings, never the secret", async () => {
  const entra = startEntraFake();
  try {
    const make = (clientSecret: string, tenantId = entra.tenantId) =>
      createEntraAuth({
        tenantId,
        clientId: entra.clientId,
        clientSecret,
        authorityHost: entra.authorityHost,
        from: "AZURE_STORAGE_TENANT_ID, AZURE_STORAGE_CLIENT_ID, AZURE_STORAGE_CLIENT_SECRET",
      }, { name: "azure-test", scope: "https://storage.azure.com/.default", fetch });
    const wrongSecret = "wrong~secret~value~0123456789";
    const messages: string[] = [];
    for (let i = 0; i < 2; i++) {
      await assert.rejects(make(wrongSecret).authorization(), (error: HttpSinkError) => {
        assert.notEqual(error.permanent, true);
        assert.equal(error.status, 401);
        assert.match(error.message, /AADSTS7000215: Invalid client secret provided\./);
        assert.match(error.message, new RegExp(`app ${entra.clientId} in tenant`));
        assert.match(error.message, /AZURE_STORAGE_CLIENT_SECRET/);
        assert.match(error.message, /the events are kept and retried/);
        assert.ok(!error.message.includes(wrongSecret));
        assert.ok(!/Trace ID|Correlation ID/.test(error.message));
        messages.push(error.message);
        return true;
      });
    }
    assert.equal(messages[0], messages[1], "the same message for every batch");
    // Entra answers an unknown tenant with 400: still the credentials', not the events'.
    await assert.rejects(
      make(entra.clientSecret, "no-such-tenant").authorization(),
      (error: HttpSinkError) => {
        assert.notEqual(error.permanent, true);
        assert.match(error.message, /AADSTS90002/);
        return true;
      },
    );
    entra.failWith = 503;
    await assert.rejects(make(entra.clientSecret).authorization(), (error: HttpSinkError) => {
      assert.notEqual(error.permanent, true);
      assert.equal(error.status, 503);
      return true;
    });
  } finally {
    await entra.close();
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const auth = createEntraAuth({
    tenantId: "t",
    clientId: "c",
    clientSecret: "secret-value-0123456789",
    authorityHost: down,
    from: "test",
  }, { name: "azure-test", scope: "https://storage.azure.com/.default", fetch });
  await assert.rejects(auth.authorization(), (error: HttpSinkError) => {
    assert.notEqual(error.permanent, true);
    assert.match(
      error.message,
      /the token request to http:\/\/127\.0\.0\.1:\d+\/t\/oauth2\/v2\.0\/token/,
    );
    assert.ok(!error.message.includes("secret-value"));
    return true;
  });
});

Deno.test("azure errors: storage XML, JSON and the x-ms-error-code header", () => {
  assert.equal(
    azureErrorText(
      '<?xml version="1.0"?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.\nRequestId:9\nTime:2026</Message></Error>',
    ),
    "ContainerNotFound: The specified container does not exist.",
  );
  assert.equal(
    azureErrorText("", new Headers({ "x-ms-error-code": "AuthorizationPermissionMismatch" })),
    "AuthorizationPermissionMismatch",
  );
  assert.equal(
    azureErrorText(JSON.stringify({ error: { code: "OperationFailed", message: "a &amp; b" } })),
    "OperationFailed: a &amp; b",
  );
});
