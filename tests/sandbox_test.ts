/**
 * The plugin sandbox: a plugin from a URL runs in a Worker that can reach
 * only its declared host, with no env, file reads or writes; errors keep
 * `permanent`/`retryAfterMs` across the boundary; a crash rejects pending
 * calls; close() ends the Worker. Run with `--unstable-worker-options` (or
 * the root deno.json's `"unstable": ["worker-options"]`).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIXTURES, sha256, sinkEntry as entry } from "./fakes/sink_entry.ts";
import type { LogEvent } from "../core/plugin.ts";
import { type LoadedSink, loadSink, type LoadSinkOptions } from "../core/loader/mod.ts";
import { configEnablesWorkerOptions } from "../core/loader/unstable.ts";

const TESTS_DIR = dirname(fileURLToPath(import.meta.url));

interface Received {
  path: string;
  body: Record<string, unknown> | null;
}

/** Serves `files` on GET and records POSTs; `onPost` lets a test wait for one. */
function startServer(files: Record<string, string> = {}) {
  const received: Received[] = [];
  let notify: (() => void) | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "GET" && files[url.pathname] !== undefined) {
      return new Response(files[url.pathname]);
    }
    const text = await req.text();
    received.push({ path: url.pathname, body: text ? JSON.parse(text) : null });
    notify?.();
    return new Response("ok");
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    host,
    origin: `http://${host}`,
    received,
    /** Resolves at the next POST. */
    nextPost: () => new Promise<void>((resolve) => (notify = resolve)),
    close: () => server.shutdown(),
  };
}

/** A report server serving the probe plugin (built for its host) and a sandbox to load it in. */
async function probeSetup(env: Record<string, string> = {}) {
  const reports = startServer();
  const template = await Deno.readTextFile(join(FIXTURES, "sandbox_probe.js"));
  const code = template.replace('"127.0.0.1:0"', JSON.stringify(reports.host));
  assert.notEqual(code, template);
  const files = startServer({ "/probe.js": code });
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const logs: string[] = [];
  const controller = new AbortController();
  const options: LoadSinkOptions = {
    dataDir,
    baseDir: TESTS_DIR,
    signal: controller.signal,
    env: (name) => env[name],
    log: (_level, message) => logs.push(message),
  };
  return {
    reports,
    files,
    dataDir,
    logs,
    options,
    use: `${files.origin}/probe.js`,
    sha256: sha256(code),
    cleanup: async () => {
      controller.abort();
      await reports.close();
      await files.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

const EVENT = { request_id: "req-1", status: "success" } as unknown as LogEvent;

Deno.test("a sandboxed plugin reaches only its declared host; env, reads and writes are denied", async () => {
  const s = await probeSetup({ PROBE_VISIBLE: "visible-value", HOME: "/root" });
  const undeclared = startServer();
  const secretFile = join(s.dataDir, "secret.txt");
  await Deno.writeTextFile(secretFile, "do not read");
  let loaded: LoadedSink | undefined;
  try {
    loaded = await loadSink(
      entry({
        use: s.use,
        name: "probe",
        sha256: s.sha256,
        config: {
          undeclaredUrl: `${undeclared.origin}/leak`,
          readPath: secretFile,
          writePath: join(s.dataDir, "written.txt"),
        },
      }),
      s.options,
    );
    assert.equal(loaded.sandboxed, true);
    assert.equal(loaded.plugin.name, "sandbox-probe");
    await loaded.sink.log([EVENT, EVENT]);

    assert.equal(s.reports.received.length, 1, "the declared host got the report");
    const report = s.reports.received[0].body as Record<string, { ok: boolean; error?: string }>;
    assert.equal(report.env.ok, false);
    assert.match(report.env.error!, /NotCapable|PermissionDenied/);
    assert.equal(report.read.ok, false);
    assert.match(report.read.error!, /NotCapable|PermissionDenied/);
    assert.equal(report.write.ok, false);
    assert.match(report.write.error!, /NotCapable|PermissionDenied/);
    assert.equal(report.undeclared.ok, false);
    assert.match(report.undeclared.error!, /NotCapable|PermissionDenied|net access/i);
    assert.equal(undeclared.received.length, 0, "the undeclared host got nothing");
    assert.equal(report.declaredEnv as unknown, "visible-value");
    assert.equal(report.undeclaredEnv as unknown, null);
    assert.equal(report.instance as unknown, "probe");
    assert.equal(report.events as unknown, 2);
    assert.ok(
      s.logs.some((l) => l.includes('sink "probe": ctx.env("HOME") returned undefined')),
      s.logs.join("\n"),
    );
    await assert.rejects(Deno.stat(join(s.dataDir, "written.txt")), Deno.errors.NotFound);
  } finally {
    await loaded?.sink.close?.();
    await undeclared.close();
    await s.cleanup();
  }
});

Deno.test("a sandboxed plugin's permanent error keeps permanent and retryAfterMs on the parent side", async () => {
  const s = await probeSetup();
  let loaded: LoadedSink | undefined;
  try {
    loaded = await loadSink(
      entry({ use: s.use, sha256: s.sha256, config: { undeclaredUrl: "http://127.0.0.1:9/" } }),
      s.options,
    );
    const bad = { ...EVENT, fail_permanent: true } as unknown as LogEvent;
    const err = await loadedLogError(loaded, [bad]);
    assert.ok(err instanceof Error);
    assert.equal(err.message, "malformed batch");
    assert.equal((err as { permanent?: boolean }).permanent, true);
    assert.equal((err as { retryAfterMs?: number }).retryAfterMs, 1500);
  } finally {
    await loaded?.sink.close?.();
    await s.cleanup();
  }
});

async function loadedLogError(loaded: LoadedSink, events: LogEvent[]): Promise<unknown> {
  try {
    await loaded.sink.log(events);
  } catch (err) {
    return err;
  }
  assert.fail("log() resolved");
}

Deno.test("close() runs the plugin's close, then ends the Worker: later calls reject", async () => {
  const s = await probeSetup();
  try {
    const loaded = await loadSink(
      entry({ use: s.use, sha256: s.sha256, config: { undeclaredUrl: "http://127.0.0.1:9/" } }),
      s.options,
    );
    await loaded.sink.close?.();
    assert.deepEqual(s.reports.received.map((r) => r.path), ["/closed"]);
    await assert.rejects(Promise.resolve(loaded.sink.log([EVENT])), /closed/);
    await loaded.sink.close?.(); // idempotent
  } finally {
    await s.cleanup();
  }
});

Deno.test("an uncaught error in the sandbox rejects the pending call", async () => {
  const code = await Deno.readTextFile(join(FIXTURES, "crash.js"));
  const files = startServer({ "/crash.js": code });
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const controller = new AbortController();
  let loaded: LoadedSink | undefined;
  try {
    loaded = await loadSink(
      entry({ use: `${files.origin}/crash.js`, sha256: sha256(code) }),
      { dataDir, baseDir: TESTS_DIR, signal: controller.signal, log: () => {} },
    );
    await assert.rejects(Promise.resolve(loaded.sink.log([EVENT])), /crashed: .*boom from a timer/);
    await assert.rejects(Promise.resolve(loaded.sink.flush?.()), /crashed/);
  } finally {
    await Promise.resolve(loaded?.sink.close?.()).catch(() => {});
    controller.abort();
    await files.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a local plugin runs sandboxed with sandbox: true; its create failure is create_failed", async () => {
  const receiver = startServer();
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const controller = new AbortController();
  const options: LoadSinkOptions = {
    dataDir,
    baseDir: TESTS_DIR,
    signal: controller.signal,
    env: (name) => (name === "RECORDER_TOKEN" ? "tok-9" : undefined),
    log: () => {},
  };
  let loaded: LoadedSink | undefined;
  try {
    loaded = await loadSink(
      entry({
        use: "./fixtures/plugins/recorder.js",
        sandbox: true,
        config: { url: `${receiver.origin}/in` },
      }),
      options,
    );
    assert.equal(loaded.sandboxed, true);
    await loaded.sink.log([EVENT]);
    assert.equal(receiver.received[0].body?.token, "tok-9");

    const secret = "sk-sandbox-secret-98765";
    await assert.rejects(
      loadSink(
        entry({
          use: "./fixtures/plugins/create_throws.js",
          sandbox: true,
          config: { api_token: secret, endpoint: "https://x.example" },
        }),
        options,
      ),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "create_failed");
        assert.match(err.message, /authentication failed for token \[SECRET\]/);
        assert.ok(!err.message.includes(secret));
        return true;
      },
    );
  } finally {
    await loaded?.sink.close?.();
    controller.abort();
    await receiver.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker-options detection reads the nearest deno.json(c) and its workspace root", async () => {
  const root = await Deno.makeTempDir({ prefix: "sluice-detect-" });
  try {
    const member = join(root, "plugins", "one");
    const plain = join(root, "plain");
    await Deno.mkdir(member, { recursive: true });
    await Deno.mkdir(plain);
    await Deno.writeTextFile(
      join(root, "deno.jsonc"),
      `{
        // a workspace root, with comments and a trailing comma
        "workspace": ["./plugins/*"],
        "unstable": ["worker-options", /* kv */ "kv",],
      }`,
    );
    await Deno.writeTextFile(join(member, "deno.json"), `{ "name": "@x/one" }`);
    await Deno.writeTextFile(join(plain, "deno.json"), `{ "unstable": ["kv"] }`);
    assert.equal(configEnablesWorkerOptions(root), true);
    assert.equal(configEnablesWorkerOptions(join(member, "src")), true); // a member: the root's list
    assert.equal(configEnablesWorkerOptions(plain), false); // its own config, not a member
    await Deno.writeTextFile(join(root, "deno.jsonc"), `{ "workspace": ["./plugins/*"] }`);
    assert.equal(configEnablesWorkerOptions(member), false);
    await Deno.writeTextFile(join(plain, "deno.json"), `{ "unstable": ["worker-options"] }`);
    assert.equal(configEnablesWorkerOptions(plain), true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
