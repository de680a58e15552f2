/**
 * The Redis Streams transport against real servers: the shared redis-server
 * on 127.0.0.1:6379 (a fresh key prefix per test, deleted at the end) and,
 * for outages, a redis-server of the test's own on a random port, killed
 * with SIGKILL and started again. Without 6379 the tests fail when CI is
 * set and are otherwise ignored with a line saying so.
 */
import assert from "node:assert/strict";
import { createClient } from "npm:@redis/client@6.4.0";
import { until } from "../testing.ts";
import {
  openRedisTransport,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisStreamStats,
  RedisTransportError,
} from "./redis.ts";
import type { Delivery, LogTransport, PublishedEvent } from "./types.ts";

const SHARED_URL = "redis://127.0.0.1:6379";
const enc = new TextEncoder();
const dec = new TextDecoder();

async function reachable(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function hasRedisServer(): Promise<boolean> {
  try {
    return (await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

async function skipWithout(): Promise<boolean> {
  const missing = !(await reachable(6379))
    ? "no redis-server answers on 127.0.0.1:6379"
    : !(await hasRedisServer())
    ? "redis-server is not on the PATH"
    : undefined;
  if (!missing) return false;
  if (Deno.env.get("CI")) return false;
  console.warn(
    `core/transport/redis_test.ts: does not run: ${missing} (apt-get install redis-server)`,
  );
  return true;
}

const ignore = await skipWithout();

function prefix(): string {
  return `sluice-test-${crypto.randomUUID().slice(0, 8)}`;
}

/** A raw client on the shared server, for looking at keys and deleting them. */
async function raw(url = SHARED_URL) {
  const c = createClient({ url, RESP: 2 });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function cleanup(stream: string): Promise<void> {
  const c = await raw();
  try {
    const keys = new Set<string>();
    for await (const batch of c.scanIterator({ MATCH: `${stream}*`, COUNT: 1000 })) {
      for (const k of batch) keys.add(String(k));
    }
    if (keys.size) await c.del([...keys]);
  } finally {
    c.destroy();
  }
}

function events(sink: string, n: number, from = 0, size = 0): PublishedEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    sink,
    id: `evt_${from + i}.${sink}`,
    body: enc.encode(JSON.stringify({ n: from + i, pad: "x".repeat(size) })),
  }));
}

/** Pulls from `consume` in the background, collecting deliveries, acking each unless told not to. */
function collect(
  t: LogTransport,
  sink: string,
  consumer: string,
  opts: { ackWaitMs?: number; batch?: number; ack?: boolean; signal?: AbortSignal } = {},
) {
  const controller = new AbortController();
  const signal = opts.signal ?? controller.signal;
  const got: Delivery[] = [];
  const done = (async () => {
    for await (
      const batch of t.consume({
        sink,
        consumer,
        batch: opts.batch ?? 10,
        ackWaitMs: opts.ackWaitMs ?? 30_000,
        signal,
      })
    ) {
      for (const d of batch) {
        got.push(d);
        // An ack can fail while Redis is away: the entry is redelivered later, as in a worker.
        if (opts.ack !== false) await d.ack().catch(() => {});
      }
    }
  })();
  return { got, done, stop: () => controller.abort() };
}

async function withShared(
  fn: (t: LogTransport, stream: string) => Promise<void>,
  extra: { maxBytes?: number; maxAgeMs?: number } = {},
) {
  const stream = prefix();
  const t = await openRedisTransport({ url: SHARED_URL, stream, ...extra });
  try {
    await fn(t, stream);
  } finally {
    await t.close();
    await cleanup(stream);
  }
}

/** A redis-server of the test's own, with a password, that can be killed and started again. */
class OwnRedis {
  readonly port: number;
  readonly password = `pw-${crypto.randomUUID()}`;
  #child?: Deno.ChildProcess;

  constructor() {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = l.addr.port;
    l.close();
  }

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--requirepass",
        this.password,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await until(() => reachable(this.port), 10_000, `redis-server on port ${this.port}`);
  }

  /** SIGSTOP / SIGCONT: the server keeps its sockets but stops answering. */
  signal(sig: "SIGSTOP" | "SIGCONT"): void {
    this.#child?.kill(sig);
  }

  async kill(): Promise<void> {
    if (!this.#child) return;
    this.#child.kill("SIGKILL");
    await this.#child.status;
    this.#child = undefined;
  }
}

Deno.test({
  name: "redis transport: publish, consume and ack round trip",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a"]);
      await t.ensure(["a"]); // idempotent
      await t.publish(events("a", 5));
      const c = collect(t, "a", "w1");
      await until(() => c.got.length === 5, 5_000, "5 deliveries");
      assert.deepEqual(c.got.map((d) => d.id), [0, 1, 2, 3, 4].map((i) => `evt_${i}.a`));
      assert.deepEqual(JSON.parse(dec.decode(c.got[2].body)), { n: 2, pad: "" });
      assert.ok(c.got.every((d) => d.attempt === 1));
      await until(async () => (await t.stats(["a"])).messages === 0, 5_000, "acked entries gone");
      const s = await t.stats(["a"]);
      assert.deepEqual(s.consumers, [{ sink: "a", pending: 0, unacked: 0, redelivered: 0 }]);
      c.stop();
      await c.done;
      const r = await raw();
      try {
        assert.equal(await r.xLen(`${stream}:a`), 0);
        const groups = await r.xInfoGroups(`${stream}:a`);
        assert.equal(groups[0].name, "sluice-a");
        assert.equal(groups[0].consumers, 0, "a stopped consumer holding nothing is forgotten");
      } finally {
        r.destroy();
      }
    }),
});

Deno.test({
  name: "redis transport: a re-published id is stored once",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a"]);
      const batch = events("a", 3);
      await t.publish(batch);
      await t.publish(batch); // a gateway retrying after an unanswered publish
      await t.publish([batch[1], batch[1]]);
      const r = await raw();
      try {
        assert.equal(await r.xLen(`${stream}:a`), 3);
      } finally {
        r.destroy();
      }
      const s = await t.stats(["a"]) as RedisStreamStats;
      assert.equal(s.duplicatesDropped, 5);
      assert.equal(s.consumers[0].pending, 3);
    }),
});

Deno.test({
  name: "redis transport: two consumers of one group split the work",
  ignore,
  fn: () =>
    withShared(async (t) => {
      await t.ensure(["a"]);
      const one = collect(t, "a", "w1", { batch: 5 });
      const two = collect(t, "a", "w2", { batch: 5 });
      for (let i = 0; i < 200; i += 20) await t.publish(events("a", 20, i));
      await until(
        () => one.got.length + two.got.length >= 200,
        10_000,
        "200 deliveries over both consumers",
      );
      const ids = [...one.got, ...two.got].map((d) => d.id);
      assert.equal(new Set(ids).size, 200, "each entry went to one consumer");
      assert.equal(ids.length, 200);
      assert.ok(
        one.got.length > 0 && two.got.length > 0,
        `split ${one.got.length}/${two.got.length}`,
      );
      one.stop();
      two.stop();
      await Promise.all([one.done, two.done]);
    }),
});

Deno.test({
  name: "redis transport: entries of a consumer that died unacked go to another after ackWaitMs",
  ignore,
  fn: () =>
    withShared(async (t) => {
      await t.ensure(["a"]);
      await t.publish(events("a", 4));
      const dead = collect(t, "a", "dies", { ack: false });
      await until(() => dead.got.length === 4, 5_000, "the first consumer's deliveries");
      dead.stop();
      await dead.done;
      let s = await t.stats(["a"]);
      assert.equal(s.consumers[0].unacked, 4);
      const started = Date.now();
      const other = collect(t, "a", "lives", { ackWaitMs: 300 });
      await until(() => other.got.length === 4, 5_000, "redelivery to the other consumer");
      assert.ok(Date.now() - started >= 200, "not before the entries were idle for ackWaitMs");
      assert.deepEqual(other.got.map((d) => d.attempt), [2, 2, 2, 2]);
      assert.deepEqual(other.got.map((d) => d.id), dead.got.map((d) => d.id));
      await until(async () => (await t.stats(["a"])).consumers[0].unacked === 0, 5_000, "acks");
      s = await t.stats(["a"]);
      assert.equal(s.consumers[0].redelivered, 4);
      other.stop();
      await other.done;
    }),
});

Deno.test({
  name: "redis transport: retry(delay) redelivers after the delay with the next attempt",
  ignore,
  fn: () =>
    withShared(async (t) => {
      await t.ensure(["a"]);
      await t.publish(events("a", 1));
      const controller = new AbortController();
      const seen: { attempt: number; at: number }[] = [];
      let retriedAt = 0;
      const loop = (async () => {
        for await (
          const batch of t.consume({
            sink: "a",
            consumer: "w",
            batch: 10,
            ackWaitMs: 30_000,
            signal: controller.signal,
          })
        ) {
          for (const d of batch) {
            seen.push({ attempt: d.attempt, at: Date.now() });
            if (d.attempt < 3) {
              retriedAt = Date.now();
              await d.retry(400);
            } else await d.ack();
          }
        }
      })();
      await until(() => seen.length === 3, 10_000, "three attempts");
      assert.deepEqual(seen.map((s) => s.attempt), [1, 2, 3]);
      assert.ok(
        seen[1].at - seen[0].at >= 380,
        `second attempt after ${seen[1].at - seen[0].at} ms`,
      );
      assert.ok(seen[2].at - retriedAt >= 380, `third attempt after ${seen[2].at - retriedAt} ms`);
      await until(async () => (await t.stats(["a"])).messages === 0, 5_000, "the ack");
      const s = await t.stats(["a"]);
      assert.equal(s.consumers[0].redelivered, 2);
      controller.abort();
      await loop;
    }),
});

Deno.test({
  name: "redis transport: dead-letter keeps id, sink, reason, attempt and body",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a"]);
      await t.publish(events("a", 2));
      const controller = new AbortController();
      let handled = 0;
      const loop = (async () => {
        for await (
          const batch of t.consume({
            sink: "a",
            consumer: "w",
            batch: 10,
            ackWaitMs: 30_000,
            signal: controller.signal,
          })
        ) {
          for (const d of batch) {
            if (d.id === "evt_0.a") await d.deadLetter("400 bad request: schema");
            else await d.ack();
            handled++;
          }
        }
      })();
      await until(() => handled === 2, 5_000, "both handled");
      const s = await t.stats(["a"]);
      assert.equal(s.deadLettered, 1);
      assert.equal(s.consumers[0].unacked, 0);
      assert.equal(s.messages, 0);
      const r = await raw();
      try {
        const [entry] = (await r.xRange(`${stream}-dlq`, "-", "+")) ?? [];
        assert.equal(entry.message.id, "evt_0.a");
        assert.equal(entry.message.sink, "a");
        assert.equal(entry.message.reason, "400 bad request: schema");
        assert.equal(entry.message.attempt, "1");
        assert.deepEqual(JSON.parse(entry.message.body), { n: 0, pad: "" });
      } finally {
        r.destroy();
      }
      controller.abort();
      await loop;
      // Replayed once the sink is fixed: back in the sink's stream with its body, out of the DLQ.
      assert.equal(await t.replayDeadLetters("b"), 0);
      assert.equal(await t.replayDeadLetters("a"), 1);
      assert.equal((await t.stats(["a"])).deadLettered, 0);
      const again = new AbortController();
      for await (
        const batch of t.consume({
          sink: "a",
          consumer: "w2",
          batch: 10,
          ackWaitMs: 30_000,
          signal: again.signal,
        })
      ) {
        assert.equal(batch.length, 1);
        assert.match(batch[0].id, /^evt_0\.a\.replay-\d+$/);
        assert.deepEqual(JSON.parse(new TextDecoder().decode(batch[0].body)), { n: 0, pad: "" });
        await batch[0].ack();
        again.abort();
      }
    }),
});

Deno.test({
  name: "redis transport: stats count backlog, unacked, bytes, and trim by the limits",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a", "b"]);
      await t.publish(events("a", 6));
      await t.publish(events("b", 2));
      const controller = new AbortController();
      for await (
        const batch of t.consume({
          sink: "a",
          consumer: "w",
          batch: 4,
          ackWaitMs: 30_000,
          signal: controller.signal,
        })
      ) {
        assert.equal(batch.length, 4);
        controller.abort();
      }
      const s = await t.stats(["a", "b"]) as RedisStreamStats;
      assert.equal(s.messages, 8);
      assert.ok(s.bytes > 0);
      assert.deepEqual(s.consumers, [
        { sink: "a", pending: 2, unacked: 4, redelivered: 0 },
        { sink: "b", pending: 2, unacked: 0, redelivered: 0 },
      ]);
      assert.equal(s.deadLettered, 0);
      assert.equal(s.limits.note, "no limits");

      // maxBytes 40 KB over 2 sinks, ~200 B entries: about 100 per sink stream.
      const limited = await openRedisTransport({
        url: SHARED_URL,
        stream,
        maxBytes: 40_000,
        maxAgeMs: 3_600_000,
      });
      try {
        await limited.ensure(["a", "b"]);
        for (let i = 0; i < 3_000; i += 500) await limited.publish(events("b", 500, 100 + i, 100));
        const ls = await limited.stats(["a", "b"]) as RedisStreamStats;
        assert.equal(ls.maxBytes, 40_000);
        assert.equal(ls.maxAgeMs, 3_600_000);
        assert.ok(ls.limits.maxLenPerSink! > 50 && ls.limits.maxLenPerSink! < 200, ls.limits.note);
        assert.match(ls.limits.note, /MAXLEN ~\d+ per sink stream/);
        assert.match(ls.limits.note, /MINID/);
        const r = await raw();
        try {
          const len = await r.xLen(`${stream}:b`);
          assert.ok(len < 400, `b trimmed to ${len} entries (~ trims whole nodes of 100)`);
        } finally {
          r.destroy();
        }
      } finally {
        await limited.close();
      }
    }),
});

Deno.test({
  name: "redis transport: age limit drops entries older than maxAgeMs",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a"]);
      // 150 old entries, dated 2 h back by explicit ids (a full node, so MINID ~ can drop it).
      const r = await raw();
      try {
        const old = Date.now() - 7_200_000;
        for (let i = 0; i < 150; i++) {
          await r.xAdd(`${stream}:a`, `${old}-${i}`, { id: `old_${i}.a`, body: "{}" });
        }
        const aged = await openRedisTransport({ url: SHARED_URL, stream, maxAgeMs: 3_600_000 });
        try {
          await aged.publish(events("a", 1));
        } finally {
          await aged.close();
        }
        const len = await r.xLen(`${stream}:a`);
        assert.ok(len < 151, `old entries trimmed (${len} left)`);
        const [last] = (await r.xRevRange(`${stream}:a`, "+", "-", { COUNT: 1 })) ?? [];
        assert.equal(last.message.id, "evt_0.a");
      } finally {
        r.destroy();
      }
    }),
});

Deno.test({
  name: "redis transport: abort stops a blocked consume promptly",
  ignore,
  fn: () =>
    withShared(async (t, stream) => {
      await t.ensure(["a"]);
      const controller = new AbortController();
      const it = t.consume({
        sink: "a",
        consumer: "w",
        batch: 10,
        ackWaitMs: 60_000,
        signal: controller.signal,
      })[Symbol.asyncIterator]();
      const next = it.next();
      const r = await raw();
      try {
        await until(
          async () => (await r.clientList()).some((c) => c.cmd === "xreadgroup"),
          5_000,
          "the blocked XREADGROUP",
        );
      } finally {
        r.destroy();
      }
      const at = Date.now();
      controller.abort();
      const result = await next;
      assert.equal(result.done, true);
      assert.ok(Date.now() - at < 500, `stopped in ${Date.now() - at} ms`);
      assert.ok(stream);
    }),
});

Deno.test({
  name: "redis transport: publish throws fast and clean while Redis is down, works after restart",
  ignore,
  async fn() {
    const server = new OwnRedis();
    await server.start();
    const stream = prefix();
    const t = await openRedisTransport({ url: server.url, stream });
    try {
      await t.ensure(["a"]);
      await t.publish(events("a", 2));
      await server.kill();
      for (let i = 0; i < 3; i++) {
        const at = Date.now();
        const error = await t.publish(events("a", 2, 10)).then(() => undefined, (e) => e);
        assert.ok(error instanceof RedisTransportError, String(error));
        assert.equal(error.code, "transport_unavailable");
        assert.ok(Date.now() - at < 1_000, `threw after ${Date.now() - at} ms`);
        assert.match(error.message, new RegExp(`redis at redis://127\\.0\\.0\\.1:${server.port}`));
        assert.ok(!error.message.includes(server.password), error.message);
      }
      await server.start();
      await until(
        () => t.publish(events("a", 2, 10)).then(() => true, () => false),
        10_000,
        "publish after the restart",
      );
      await t.ensure(["a"]);
      const c = collect(t, "a", "w");
      await until(() => c.got.length === 2, 5_000, "the events published after the restart");
      assert.deepEqual(c.got.map((d) => d.id), ["evt_10.a", "evt_11.a"]);
      c.stop();
      await c.done;
    } finally {
      await t.close();
      await server.kill();
    }
  },
});

Deno.test({
  name:
    "redis transport: a paused Redis (stalled connection) fails publish within the timeout, then fast",
  ignore,
  async fn() {
    const server = new OwnRedis();
    await server.start();
    const t = await openRedisTransport({ url: server.url, stream: prefix() });
    try {
      await t.ensure(["a"]);
      const c = collect(t, "a", "w");
      await t.publish(events("a", 1));
      await until(() => c.got.length === 1, 5_000, "before the pause");
      server.signal("SIGSTOP");
      let at = Date.now();
      let error = await t.publish(events("a", 1, 1)).then(() => undefined, (e) => e);
      assert.ok(error instanceof RedisTransportError, String(error));
      assert.equal(error.code, "transport_unavailable");
      assert.ok(Date.now() - at < REDIS_COMMAND_TIMEOUT_MS + 1_000, `after ${Date.now() - at} ms`);
      at = Date.now();
      error = await t.publish(events("a", 1, 1)).then(() => undefined, (e) => e);
      assert.ok(error instanceof RedisTransportError, String(error));
      assert.ok(Date.now() - at < 1_000, `the next publish threw after ${Date.now() - at} ms`);
      server.signal("SIGCONT");
      await until(
        () => t.publish(events("a", 1, 2)).then(() => true, () => false),
        15_000,
        "publish after the pause",
      );
      await until(() => c.got.some((d) => d.id === "evt_2.a"), 15_000, "delivery after the pause");
      c.stop();
      await c.done;
    } finally {
      await t.close();
      await server.kill();
    }
  },
});

Deno.test({
  name: "redis transport: consume resumes after Redis restarts",
  ignore,
  async fn() {
    const server = new OwnRedis();
    await server.start();
    const stream = prefix();
    const t = await openRedisTransport({ url: server.url, stream });
    try {
      await t.ensure(["a"]);
      const c = collect(t, "a", "w", { ackWaitMs: 1_000 });
      await t.publish(events("a", 3));
      await until(() => c.got.length === 3, 5_000, "before the outage");
      await server.kill();
      await server.start(); // empty: --save "" and no AOF, so the group must be made again
      await until(
        () => t.publish(events("a", 3, 3)).then(() => true, () => false),
        10_000,
        "publish after the restart",
      );
      await until(() => c.got.length === 6, 10_000, "deliveries after the restart");
      assert.deepEqual(c.got.slice(3).map((d) => d.id), ["evt_3.a", "evt_4.a", "evt_5.a"]);
      c.stop();
      await c.done;
    } finally {
      await t.close();
      await server.kill();
    }
  },
});

Deno.test({
  name: "redis transport: open fails fast and clean when Redis is unreachable",
  ignore,
  async fn() {
    const server = new OwnRedis(); // never started: the port is closed
    const at = Date.now();
    const error = await openRedisTransport({ url: server.url, stream: "x" }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof RedisTransportError, String(error));
    assert.equal(error.code, "transport_unavailable");
    assert.ok(Date.now() - at < 2_500);
    assert.ok(!error.message.includes(server.password), error.message);
    assert.match(error.message, /ECONNREFUSED/);
    await assert.rejects(
      openRedisTransport({ url: "http://127.0.0.1:6379", stream: "x" }),
      /must start with redis:\/\//,
    );
  },
});

Deno.test({
  name: "redis transport: a password given apart from the URL is used and never shown",
  ignore,
  async fn() {
    const server = new OwnRedis();
    await server.start();
    try {
      const t = await openRedisTransport({
        url: `redis://127.0.0.1:${server.port}`,
        stream: prefix(),
        password: server.password,
      });
      await t.ensure(["a"]);
      await t.publish(events("a", 1));
      assert.equal((await t.stats(["a"])).messages, 1);
      await t.close();
      const error = await openRedisTransport({
        url: `redis://127.0.0.1:${server.port}`,
        stream: "x",
        password: `${server.password}-wrong`,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof RedisTransportError, String(error));
      assert.ok(!error.message.includes(server.password), error.message);
    } finally {
      await server.kill();
    }
  },
});
