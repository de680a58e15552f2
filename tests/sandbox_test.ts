/**
 * The plugin sandbox: a plugin runs in its own process that can reach only
 * the hosts the operator granted, with no env, file reads or writes; a
 * request beyond the grant stops the start with both lists; errors keep
 * `permanent`/`retryAfterMs` across the boundary; a crash rejects pending
 * calls; a plugin that runs out of memory, spins, or ignores its deadline
 * is killed and started again; close() ends the process.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIXTURES, sha256, sinkEntry as entry } from "./fakes/sink_entry.ts";
import type { LogEvent } from "../core/plugin.ts";
import { type LoadedSink, loadSink, type LoadSinkOptions } from "../core/loader/mod.ts";
import { until } from "../core/testing.ts";

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
async function probeSetup(env: Record<string, string> = {}, readGrant?: string) {
  const reports = startServer();
  const template = await Deno.readTextFile(join(FIXTURES, "sandbox_probe.js"));
  const code = template.replace('"127.0.0.1:0"', JSON.stringify(reports.host))
    .replace(
      "const READ_GRANT = null;",
      `const READ_GRANT = ${JSON.stringify(readGrant ?? null)};`,
    );
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
    grant: { net: [reports.host], env: ["PROBE_VISIBLE"] },
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

Deno.test("a sandboxed plugin reaches only its declared host; env (granted names hold no value), reads and writes are denied", async () => {
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
        permissions: { net: [s.reports.host], env: ["PROBE_VISIBLE"] },
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
    assert.deepEqual(
      report.grantedProcessEnv,
      { ok: true, value: null },
      "values only via ctx.env",
    );
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
    assert.ok(
      s.logs.some((l) =>
        l.includes(
          `runs in its own process (heap cap 256 MiB); net: ${s.reports.host}; ` +
            "env: PROBE_VISIBLE (granted by entry)",
        )
      ),
      s.logs.join("\n"),
    );
    await assert.rejects(Deno.stat(join(s.dataDir, "written.txt")), Deno.errors.NotFound);
  } finally {
    await loaded?.sink.close?.();
    await undeclared.close();
    await s.cleanup();
  }
});

Deno.test("a sandboxed plugin reads the one file it asked for and was granted, no other", async () => {
  const keyDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-key-" });
  const keyFile = join(keyDir, "key.json");
  const otherFile = join(keyDir, "other.json");
  await Deno.writeTextFile(keyFile, '{"key":"granted"}');
  await Deno.writeTextFile(otherFile, "not granted");
  const s = await probeSetup({}, keyFile);
  const undeclared = startServer();
  let loaded: LoadedSink | undefined;
  try {
    const config = { undeclaredUrl: `${undeclared.origin}/leak`, readPath: otherFile };
    const grant = { net: [s.reports.host], env: ["PROBE_VISIBLE"] };
    // An entry that grants the hosts and variables but not the file is refused, naming it.
    await assert.rejects(
      loadSink(entry({ use: s.use, sha256: s.sha256, permissions: grant, config }), s.options),
      (error: Error) => {
        assert.match(
          error.message,
          new RegExp(`not granted: net: none; env: none; read: ${keyFile}`),
        );
        return true;
      },
    );
    loaded = await loadSink(
      entry({
        use: s.use,
        name: "probe",
        sha256: s.sha256,
        permissions: { ...grant, read: [keyFile] },
        config,
      }),
      s.options,
    );
    await loaded.sink.log([EVENT]);
    const report = s.reports.received[0].body as Record<string, { ok: boolean; value?: string }>;
    assert.deepEqual(report.grantedRead, { ok: true, value: '{"key":"granted"}' });
    assert.equal(report.read.ok, false, "a file next to it stays unreadable");
    assert.ok(
      s.logs.some((l) => l.includes(`env: PROBE_VISIBLE; read: ${keyFile} (granted by entry)`)),
      s.logs.join("\n"),
    );
  } finally {
    await loaded?.sink.close?.();
    await undeclared.close();
    await s.cleanup();
    await Deno.remove(keyDir, { recursive: true });
  }
});

Deno.test("a sandboxed plugin's permanent error keeps permanent and retryAfterMs on the parent side", async () => {
  const s = await probeSetup();
  let loaded: LoadedSink | undefined;
  try {
    loaded = await loadSink(
      entry({
        use: s.use,
        sha256: s.sha256,
        permissions: s.grant,
        config: { undeclaredUrl: "http://127.0.0.1:9/" },
      }),
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

Deno.test("close() runs the plugin's close, then ends the process: later calls reject", async () => {
  const s = await probeSetup();
  try {
    const loaded = await loadSink(
      entry({
        use: s.use,
        sha256: s.sha256,
        permissions: s.grant,
        config: { undeclaredUrl: "http://127.0.0.1:9/" },
      }),
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
    await assert.rejects(
      Promise.resolve(loaded.sink.log([EVENT])),
      (err: Error & { code?: string }) => {
        assert.match(err.message, /crashed: .*boom from a timer/);
        assert.equal(err.code, "plugin_crashed");
        return true;
      },
    );
    // The next call starts the process again (and this plugin crashes again).
    await assert.rejects(Promise.resolve(loaded.sink.log([EVENT])), /crashed: .*boom from a timer/);
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
        config: { url: `${receiver.origin}/in`, with_token: true },
        permissions: { net: [receiver.host], env: ["RECORDER_TOKEN"] },
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

Deno.test("a plugin asking for keys and a host of its own is refused at start, showing both lists", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const controller = new AbortController();
  const env: Record<string, string> = {
    OPENAI_API_KEY: "sk-openai-never-leaves-1234",
    SLUICE_MASTER_KEY: "sk-master-never-leaves-5678",
  };
  const options: LoadSinkOptions = {
    dataDir,
    baseDir: TESTS_DIR,
    signal: controller.signal,
    env: (name) => env[name],
    log: () => {},
  };
  try {
    for (const sandbox of [undefined, false]) {
      await assert.rejects(
        loadSink(entry({ use: "./fixtures/plugins/greedy.js", sandbox }), options),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, "permission_denied", err.message);
          assert.match(
            err.message,
            /asks net: collector\.greedy\.example; env: OPENAI_API_KEY, SLUICE_MASTER_KEY; granted \(default: the hosts in its config:\) net: none; env: none/,
          );
          assert.ok(!err.message.includes("never-leaves"));
          return true;
        },
      );
    }
    // A grant that covers part of the request is still refused, naming what is missing.
    await assert.rejects(
      loadSink(
        entry({
          use: "./fixtures/plugins/greedy.js",
          permissions: { net: ["collector.greedy.example"], env: ["OPENAI_API_KEY"] },
        }),
        options,
      ),
      /granted \(this entry's permissions:\) net: collector\.greedy\.example; env: OPENAI_API_KEY; not granted: net: none; env: SLUICE_MASTER_KEY/,
    );
  } finally {
    controller.abort();
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** The misbehaving fixture loaded against a receiver, granted the default (its url's host). */
async function misbehaving(loadOptions: Partial<LoadSinkOptions> = {}, heapMb?: number) {
  const receiver = startServer();
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const controller = new AbortController();
  const logs: string[] = [];
  const loaded = await loadSink(
    entry({
      use: "./fixtures/plugins/misbehave.js",
      config: { url: `${receiver.origin}/in` },
      ...(heapMb ? { sandbox: { heap_mb: heapMb } } : {}),
    }),
    {
      dataDir,
      baseDir: TESTS_DIR,
      signal: controller.signal,
      log: (_level, message) => logs.push(message),
      ...loadOptions,
    },
  );
  return {
    loaded,
    receiver,
    logs,
    batch: (misbehave?: string) =>
      [
        { ...EVENT, request_id: `req-${misbehave ?? "ok"}`, metadata: { request: { misbehave } } },
      ] as unknown as LogEvent[],
    cleanup: async () => {
      await Promise.resolve(loaded.sink.close?.()).catch(() => {});
      controller.abort();
      await receiver.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

Deno.test("by default a plugin from a path is granted the hosts in its config, and nothing else", async () => {
  const m = await misbehaving();
  try {
    assert.equal(m.loaded.sandboxed, true);
    await m.loaded.sink.log(m.batch());
    assert.deepEqual(m.receiver.received.map((r) => r.body), [["req-ok"]]);
    assert.ok(
      m.logs.some((l) => l.includes(`net: ${m.receiver.host}; env: none (granted by default)`)),
      m.logs.join("\n"),
    );
  } finally {
    await m.cleanup();
  }
});

Deno.test("a plugin that runs out of memory is contained by its heap cap and started again", async () => {
  const m = await misbehaving({}, 64);
  try {
    await assert.rejects(
      Promise.resolve(m.loaded.sink.log(m.batch("oom"))),
      (err: Error & { code?: string }) => {
        assert.match(err.message, /ran out of memory \(heap cap 64 MiB\)/);
        assert.equal(err.code, "plugin_crashed");
        return true;
      },
    );
    await m.loaded.sink.log(m.batch()); // a new process delivers the next batch
    assert.deepEqual(m.receiver.received.map((r) => r.body), [["req-ok"]]);
    assert.ok(m.logs.some((l) => l.includes("started again")), m.logs.join("\n"));
  } finally {
    await m.cleanup();
  }
});

Deno.test("a plugin spinning in log() past its deadline is killed after the grace and started again", async () => {
  const m = await misbehaving({ sandboxAbortGraceMs: 100 });
  try {
    const signal = AbortSignal.timeout(200);
    await assert.rejects(
      Promise.resolve(m.loaded.sink.log(m.batch("spin"), { signal })),
      /did not stop log\(\) within 0\.1 s of its deadline; it is killed and started again/,
    );
    await m.loaded.sink.log(m.batch());
    assert.deepEqual(m.receiver.received.map((r) => r.body), [["req-ok"]]);
  } finally {
    await m.cleanup();
  }
});

Deno.test("a plugin that spins between calls fails the liveness check and is started again", async () => {
  const m = await misbehaving({ sandboxHeartbeatMs: 100 });
  try {
    await m.loaded.sink.log(m.batch("spin_idle")); // returns, then its timer spins
    await until(() => m.logs.some((l) => l.includes("stopped answering")), 10_000, "the kill");
    await m.loaded.sink.log(m.batch());
    assert.deepEqual(m.receiver.received.map((r) => r.body), [["req-ok"]]);
    assert.ok(m.logs.some((l) => l.includes("started again")), m.logs.join("\n"));
  } finally {
    await m.cleanup();
  }
});

Deno.test("close() with an aborted signal ends a spinning plugin's process at once", async () => {
  const m = await misbehaving({ sandboxAbortGraceMs: 60_000 });
  try {
    const spinning = Promise.resolve(m.loaded.sink.log(m.batch("spin"))).catch((e) => e);
    const started = performance.now();
    await m.loaded.sink.close?.({ signal: AbortSignal.abort() });
    const tookMs = performance.now() - started;
    assert.match(
      String(await spinning),
      /is closed: the shutdown deadline cut its close\(\) short/,
    );
    assert.ok(tookMs < 5_000, `close took ${tookMs} ms`);
  } finally {
    await m.cleanup();
  }
});

Deno.test("a built-in HTTP sink runs in its own process by default, granted the host it asks for", async () => {
  const receiver = startServer();
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-sandbox-" });
  const controller = new AbortController();
  const logs: string[] = [];
  const loaded = await loadSink(
    entry({ use: "webhook", config: { url: `${receiver.origin}/hook` } }),
    {
      dataDir,
      baseDir: TESTS_DIR,
      signal: controller.signal,
      log: (_level, message) => logs.push(message),
    },
  );
  try {
    assert.equal(loaded.sandboxed, true);
    assert.ok(
      logs.some((l) =>
        l.includes(
          "runs in its own process (heap cap 256 MiB); " +
            `net: ${receiver.host}; env: none (granted by builtin default)`,
        )
      ),
      logs.join("\n"),
    );
    await loaded.sink.log([EVENT]);
    assert.deepEqual(receiver.received.map((r) => r.path), ["/hook"]);
  } finally {
    await loaded.sink.close?.();
    controller.abort();
    await receiver.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
