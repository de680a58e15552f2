/**
 * The sink plugin loader: every source kind (paths, loopback URLs, s3:// and
 * gs:// against an in-process s3rver, npm:), pinning, definition and config
 * checks, create failures, secret masking and optional entries. Sandboxed
 * loads need `--unstable-worker-options` (or the root deno.json's
 * `"unstable": ["worker-options"]`).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import S3rver from "npm:s3rver@3.7.1";
import { AwsClient } from "npm:aws4fetch@1.0.20";
import { FIXTURES, sha256, sinkEntry as entry } from "./fakes/sink_entry.ts";
import type { LogEvent } from "../core/plugin.ts";
import { VERSION } from "../core/version.ts";
import {
  loadSink,
  type LoadSinkOptions,
  loadSinks,
  PluginLoadError,
  type PluginLoadErrorCode,
} from "../core/loader/mod.ts";
import { parseSource } from "../core/loader/source.ts";

const TESTS_DIR = dirname(fileURLToPath(import.meta.url));

interface Received {
  path: string;
  op: string | null;
  body: unknown;
}

/** A loopback HTTP server: serves `files` on GET, records every POST. */
function startServer(files: Record<string, Uint8Array<ArrayBuffer> | string> = {}) {
  const received: Received[] = [];
  const gets: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      if (req.method === "GET") {
        gets.push(url.pathname);
        const file = files[url.pathname];
        return file === undefined
          ? new Response("not found", { status: 404 })
          : new Response(file, { headers: { "content-type": "text/javascript" } });
      }
      const text = await req.text();
      received.push({
        path: url.pathname,
        op: req.headers.get("x-op"),
        body: text ? JSON.parse(text) : null,
      });
      return new Response("ok");
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return { origin, host: new URL(origin).host, received, gets, close: () => server.shutdown() };
}

/** Options with a temp data dir and captured log lines. */
async function testOptions(extra: Partial<LoadSinkOptions> = {}) {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-loader-" });
  const logs: { level: string; message: string }[] = [];
  const controller = new AbortController();
  const options: LoadSinkOptions = {
    dataDir,
    baseDir: TESTS_DIR,
    signal: controller.signal,
    env: () => undefined,
    log: (level, message) => logs.push({ level, message }),
    ...extra,
  };
  return {
    options,
    logs,
    dataDir,
    cleanup: async () => {
      controller.abort();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function loadError(
  promise: Promise<unknown>,
  code: PluginLoadErrorCode,
): Promise<PluginLoadError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PluginLoadError, `expected a PluginLoadError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it loaded`);
}

const EVENT = { request_id: "req-1", status: "success" } as unknown as LogEvent;

Deno.test("a relative path loads in its own process; the sink posts, flushes and closes; ctx is right", async () => {
  const receiver = startServer();
  const t = await testOptions({
    env: (
      name,
    ) => (name === "RECORDER_TOKEN" ? "tok-1" : name === "RECORDER_UNDECLARED" ? "x" : undefined),
  });
  try {
    const loaded = await loadSink(
      entry({
        use: "./fixtures/plugins/recorder.js",
        config: { url: `${receiver.origin}/in`, with_token: true },
        permissions: { net: [receiver.host], env: ["RECORDER_TOKEN"] },
      }),
      t.options,
    );
    assert.equal(loaded.name, "recorder");
    assert.deepEqual(loaded.plugin, { name: "recorder", version: "1.0.0" });
    assert.equal(loaded.use, "./fixtures/plugins/recorder.js");
    assert.equal(loaded.sandboxed, true);
    assert.deepEqual(loaded.defaultOn, ["success", "failure", "gateway_error"]);
    await loaded.sink.log([EVENT]);
    await loaded.sink.flush?.();
    await loaded.sink.close?.();
    assert.deepEqual(receiver.received.map((r) => r.op), ["log", "flush", "close"]);
    assert.deepEqual(receiver.received[0].body, {
      instance: "recorder",
      gatewayVersion: VERSION,
      token: "tok-1",
      undeclared: null,
      events: [EVENT],
    });
    const warnings = t.logs.filter((l) => l.level === "warn").map((l) => l.message);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /sink "recorder": ctx\.env\("RECORDER_UNDECLARED"\) returned undefined/,
    );
  } finally {
    await receiver.close();
    await t.cleanup();
  }
});

Deno.test("an absolute path and a file:// URL load; name: overrides the instance name", async () => {
  const receiver = startServer();
  const t = await testOptions();
  try {
    const path = join(FIXTURES, "recorder.js");
    const a = await loadSink(
      entry({ use: path, name: "audit", config: { url: `${receiver.origin}/a` } }),
      t.options,
    );
    assert.equal(a.name, "audit");
    assert.equal(a.plugin.name, "recorder");
    const b = await loadSink(
      entry({ use: pathToFileURL(path).href, config: { url: `${receiver.origin}/b` } }),
      t.options,
    );
    assert.equal(b.name, "recorder");
    await a.sink.log([EVENT]);
    await b.sink.log([EVENT]);
    assert.deepEqual(receiver.received.map((r) => r.path), ["/a", "/b"]);
    assert.equal((receiver.received[0].body as { instance: string }).instance, "audit");
  } finally {
    await receiver.close();
    await t.cleanup();
  }
});

Deno.test("a missing file is plugin_not_found naming the path", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(entry({ use: "./fixtures/plugins/nope.js" }), t.options),
      "plugin_not_found",
    );
    assert.equal(err.sink, "nope");
    assert.match(err.message, /^sink "nope" \(use: \.\/fixtures\/plugins\/nope\.js\): /);
    assert.ok(err.message.includes(join(FIXTURES, "nope.js")), err.message);
  } finally {
    await t.cleanup();
  }
});

Deno.test("an http://127.0.0.1 URL with the right sha256 is fetched, cached, sandboxed and works", async () => {
  const code = await Deno.readFile(join(FIXTURES, "recorder.js"));
  const hash = sha256(code);
  const files = startServer({ "/plugin.js": code });
  const receiver = startServer();
  const t = await testOptions();
  try {
    const loaded = await loadSink(
      entry({
        use: `${files.origin}/plugin.js`,
        name: "remote",
        sha256: hash,
        config: { url: `${receiver.origin}/events` },
      }),
      t.options,
    );
    assert.equal(loaded.sandboxed, true);
    assert.equal(loaded.plugin.name, "recorder");
    const cached = join(t.dataDir, "plugins", `${hash}.js`);
    assert.equal(sha256(await Deno.readFile(cached)), hash);
    await loaded.sink.log([EVENT]);
    await loaded.sink.close?.();
    assert.deepEqual(receiver.received.map((r) => r.op), ["log", "close"]);
    assert.equal((receiver.received[0].body as { instance: string }).instance, "remote");
    const envWarnings = t.logs.filter((l) => l.level === "warn" && l.message.includes("ctx.env"));
    assert.deepEqual(envWarnings.map((l) => l.message.match(/ctx\.env\("(\w+)"\)/)?.[1]), [
      "RECORDER_UNDECLARED",
      "RECORDER_TOKEN",
    ]);
  } finally {
    await files.close();
    await receiver.close();
    await t.cleanup();
  }
});

Deno.test("a URL whose fetch fails reuses a cached copy whose hash matches, with a warning", async () => {
  const code = await Deno.readFile(join(FIXTURES, "recorder.js"));
  const hash = sha256(code);
  const files = startServer({ "/plugin.js": code });
  const t = await testOptions();
  try {
    const use = `${files.origin}/plugin.js`;
    const first = await loadSink(
      entry({ use, sha256: hash, sandbox: false, config: { url: "http://127.0.0.1:9/" } }),
      t.options,
    );
    await files.close();
    const second = await loadSink(
      entry({ use, sha256: hash, sandbox: false, config: { url: "http://127.0.0.1:9/" } }),
      t.options,
    );
    assert.equal(second.plugin.name, first.plugin.name);
    const warning = t.logs.find((l) => l.message.includes("cached copy"));
    assert.ok(warning, JSON.stringify(t.logs));
    assert.ok(warning.message.includes(`${hash}.js`), warning.message);
  } finally {
    await files.close().catch(() => {});
    await t.cleanup();
  }
});

Deno.test("a URL with a wrong sha256 is refused, printing expected and actual", async () => {
  const code = await Deno.readFile(join(FIXTURES, "recorder.js"));
  const files = startServer({ "/plugin.js": code });
  const t = await testOptions();
  try {
    const wrong = "0".repeat(64);
    const err = await loadError(
      loadSink(entry({ use: `${files.origin}/plugin.js`, sha256: wrong }), t.options),
      "hash_mismatch",
    );
    assert.ok(err.message.includes(`expected ${wrong}`), err.message);
    assert.ok(err.message.includes(`actual ${sha256(code)}`), err.message);
    assert.ok(err.message.includes(`${files.origin}/plugin.js`), err.message);
    assert.deepEqual([...Deno.readDirSync(t.dataDir)], []); // nothing cached
  } finally {
    await files.close();
    await t.cleanup();
  }
});

Deno.test("a URL without sha256 is refused; allow_unpinned loads it with a warning showing the hash", async () => {
  const code = await Deno.readFile(join(FIXTURES, "recorder.js"));
  const hash = sha256(code);
  const files = startServer({ "/plugin.js": code });
  const t = await testOptions();
  try {
    const use = `${files.origin}/plugin.js`;
    const err = await loadError(loadSink(entry({ use }), t.options), "hash_missing");
    assert.ok(err.message.includes(hash), err.message);
    assert.match(err.message, /allow_unpinned: true/);
    assert.match(err.message, new RegExp(`sha256: ${hash}`));

    const loaded = await loadSink(
      entry({ use, allow_unpinned: true, sandbox: false, config: { url: "http://127.0.0.1:9/" } }),
      t.options,
    );
    assert.equal(loaded.plugin.name, "recorder");
    const warning = t.logs.find((l) => l.level === "warn" && l.message.includes("unpinned"));
    assert.ok(warning, JSON.stringify(t.logs));
    assert.ok(warning.message.includes(hash), warning.message);
  } finally {
    await files.close();
    await t.cleanup();
  }
});

Deno.test("http:// to a non-loopback host is refused before any request", async () => {
  const t = await testOptions();
  const realFetch = globalThis.fetch;
  const calls: string[] = [];
  globalThis.fetch = ((input: string | URL | Request) => {
    calls.push(String(input));
    return Promise.reject(new Error("no network in this test"));
  }) as typeof fetch;
  try {
    for (const use of ["http://example.com/plugin.js", "http://10.0.0.8:8080/p.js"]) {
      const err = await loadError(
        loadSink(entry({ use, sha256: "0".repeat(64) }), t.options),
        "unsupported_source",
      );
      assert.match(err.message, /loopback/);
      assert.match(err.message, /https:\/\//);
    }
    assert.deepEqual(calls, []);
  } finally {
    globalThis.fetch = realFetch;
    await t.cleanup();
  }
});

/** s3rver on 127.0.0.1 with a `plugins` bucket holding the recorder fixture. */
async function startS3() {
  const directory = await Deno.makeTempDir({ prefix: "sluice-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: "plugins", configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const code = await Deno.readFile(join(FIXTURES, "recorder.js"));
  const client = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    service: "s3",
    region: "us-east-1",
  });
  const put = await client.fetch(`${endpoint}/plugins/sinks/recorder.js`, {
    method: "PUT",
    body: code,
  });
  assert.equal(put.status, 200, await put.text());
  return {
    endpoint,
    hash: sha256(code),
    close: async () => {
      await server.close();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

Deno.test("s3:// and gs:// paths load from an S3-compatible endpoint (s3rver), pinned", async () => {
  const s3 = await startS3();
  const receiver = startServer();
  const secret = "s3rver-secret-value-0042";
  const t = await testOptions({
    env: (name) =>
      ({
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
      })[name],
  });
  try {
    // s3:// with endpoint and credentials from the environment, sandboxed by default.
    const viaEnv = await loadSink(
      entry({
        use: "s3://plugins/sinks/recorder.js",
        sha256: s3.hash,
        config: { url: `${receiver.origin}/s3` },
      }),
      t.options,
    );
    assert.equal(viaEnv.sandboxed, true);
    assert.equal(viaEnv.name, "recorder");
    await viaEnv.sink.log([EVENT]);
    await viaEnv.sink.close?.();

    // gs:// against the same endpoint, with source: settings (GCS HMAC keys in real life).
    const viaGs = await loadSink(
      entry({
        use: "gs://plugins/sinks/recorder.js",
        name: "gcs",
        sha256: s3.hash,
        sandbox: false,
        source: { endpoint_url: s3.endpoint, access_key_id: "S3RVER", secret_access_key: secret },
        config: { url: `${receiver.origin}/gs` },
      }),
      t.options,
    );
    await viaGs.sink.log([EVENT]);
    assert.deepEqual(
      receiver.received.map((r) => `${r.path} ${r.op}`),
      ["/s3 log", "/s3 close", "/gs log"],
    );

    // Wrong pin.
    const mismatch = await loadError(
      loadSink(entry({ use: "s3://plugins/sinks/recorder.js", sha256: "f".repeat(64) }), t.options),
      "hash_mismatch",
    );
    assert.ok(mismatch.message.includes(`expected ${"f".repeat(64)}`), mismatch.message);
    assert.ok(mismatch.message.includes(`actual ${s3.hash}`), mismatch.message);

    // Missing object: bucket, key, endpoint and access key id named; the secret never.
    const missing = await loadError(
      loadSink(
        entry({
          use: "s3://plugins/sinks/missing.js",
          sha256: "a".repeat(64), // not in the cache, so no cached copy can stand in
          source: { endpoint_url: s3.endpoint, access_key_id: "S3RVER", secret_access_key: secret },
        }),
        t.options,
      ),
      "source_fetch_failed",
    );
    for (
      const part of ['bucket "plugins"', 'key "sinks/missing.js"', s3.endpoint, "S3RVER", "404"]
    ) {
      assert.ok(missing.message.includes(part), `${part} not in: ${missing.message}`);
    }
    assert.ok(!missing.message.includes(secret), missing.message);
  } finally {
    await receiver.close();
    await s3.close();
    await t.cleanup();
  }
});

Deno.test("npm: and jsr: specifiers need an exact version", async () => {
  const t = await testOptions();
  try {
    for (
      const use of ["npm:is-number@^7.0.0", "npm:is-number@7.x", "npm:is-number", "jsr:@std/path@1"]
    ) {
      const err = await loadError(loadSink(entry({ use }), t.options), "unsupported_source");
      assert.match(err.message, /exact version/, err.message);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("an npm package without a plugin default export is invalid_plugin", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(entry({ use: "npm:is-number@7.0.0" }), t.options),
      "invalid_plugin",
    );
    assert.match(err.message, /default export is a function, not a plugin definition/);
    assert.match(err.message, /export default/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("an unknown built-in short name names both specifiers tried", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(entry({ use: "no-such-sink-zz" }), t.options),
      "plugin_not_found",
    );
    assert.ok(
      err.message.includes("@sluice/no-such-sink-zz and jsr:@sluice/no-such-sink-zz"),
      err.message,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("a plugin for another API version is refused, naming both versions", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(entry({ use: "./fixtures/plugins/api_v2.js" }), t.options),
      "api_version_mismatch",
    );
    assert.match(
      err.message,
      /plugin "future-sink" implements plugin API v2; this gateway .* supports v1/,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("a default export without create() is invalid_plugin saying what is missing", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(entry({ use: "./fixtures/plugins/no_create.js" }), t.options),
      "invalid_plugin",
    );
    assert.match(err.message, /lacks `create` \(a function\)/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("invalid config lists every problem with its path", async () => {
  const t = await testOptions();
  try {
    const err = await loadError(
      loadSink(
        entry({
          use: "./fixtures/plugins/schema_url.js",
          name: "hook",
          config: { batch: 0, extra: 1 },
        }),
        t.options,
      ),
      "invalid_config",
    );
    assert.match(err.message, /sinks\[hook\]\.config: must have required property 'url'/);
    assert.match(err.message, /sinks\[hook\]\.config\.batch: must be >= 1/);
    assert.match(err.message, /sinks\[hook\]\.config: unknown key "extra"/);

    const typed = await loadError(
      loadSink(entry({ use: "./fixtures/plugins/schema_url.js", config: { url: 42 } }), t.options),
      "invalid_config",
    );
    assert.match(typed.message, /sinks\[schema_url\]\.config\.url: must be string/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a throwing create() is create_failed with its cause; secrets in config are masked", async () => {
  const t = await testOptions();
  const secret = "sk-live-0123456789abcdef";
  try {
    const err = await loadError(
      loadSink(
        entry({
          use: "./fixtures/plugins/create_throws.js",
          config: { api_token: secret, endpoint: "https://collector.example" },
        }),
        t.options,
      ),
      "create_failed",
    );
    assert.match(err.message, /plugin "throws-on-create" 1\.0\.0/);
    assert.match(
      err.message,
      /authentication failed for token \[SECRET\] at https:\/\/collector\.example/,
    );
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!String(err.stack).includes(secret));
  } finally {
    await t.cleanup();
  }
});

Deno.test("loadSinks skips a failing optional entry with a warning and throws for a required one", async () => {
  const receiver = startServer();
  const t = await testOptions();
  try {
    const good = entry({
      use: "./fixtures/plugins/recorder.js",
      config: { url: `${receiver.origin}/ok` },
    });
    const { loaded, skipped } = await loadSinks(
      [good, entry({ use: "./fixtures/plugins/missing.js", optional: true })],
      t.options,
    );
    assert.deepEqual(loaded.map((l) => l.name), ["recorder"]);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0].name, "missing");
    assert.equal(skipped[0].error.code, "plugin_not_found");
    const warning = t.logs.find((l) => l.level === "warn" && l.message.includes("optional"));
    assert.ok(warning?.message.includes('sink "missing"'), JSON.stringify(t.logs));
    await loaded[0].sink.close?.();

    // A non-optional failure is thrown (the first in config order) and the loaded sinks are closed.
    const err = await loadError(
      loadSinks(
        [
          good,
          entry({ use: "./fixtures/plugins/api_v2.js" }),
          entry({ use: "./fixtures/plugins/no_create.js" }),
        ],
        t.options,
      ),
      "api_version_mismatch",
    );
    assert.equal(err.sink, "api_v2");
    assert.deepEqual(receiver.received.map((r) => r.op), ["close", "close"]);
  } finally {
    await receiver.close();
    await t.cleanup();
  }
});

Deno.test("parseSource: loopback http hosts, cache extensions, bucket paths", () => {
  const url = (use: string) => {
    const source = parseSource(use, "/base");
    assert.equal(source.kind, "url");
    return source;
  };
  assert.equal(url("http://localhost:8080/p.js").ext, ".js");
  assert.equal(url("http://[::1]:8080/p.mjs").ext, ".mjs");
  assert.equal(url("http://127.255.0.1/dir/p.ts?v=1").ext, ".ts");
  assert.equal(url("https://plugins.example.com/p").ext, ".js");
  for (const use of ["http://128.0.0.1/p.js", "http://localhost.example.com/p.js"]) {
    assert.throws(() => parseSource(use, "/base"), /loopback/);
  }
  assert.deepEqual(parseSource("gs://my-bucket/a/b/p.mjs", "/base"), {
    kind: "bucket",
    scheme: "gs",
    bucket: "my-bucket",
    key: "a/b/p.mjs",
    ext: ".mjs",
  });
  assert.deepEqual(parseSource("../p.ts", "/base/conf"), {
    kind: "file",
    path: "/base/p.ts",
    url: "file:///base/p.ts",
  });
  assert.equal(parseSource("npm:@scope/pkg@1.2.3-beta.1/sub", "/").kind, "registry");
  assert.equal(parseSource("jsr:@scope/pkg@0.4.0", "/").kind, "registry");
});
