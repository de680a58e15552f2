import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import sqlitePlugin, {
  type CallSummary,
  createSqliteSink,
  MIGRATIONS,
  openStore,
  SCHEMA_VERSION,
  schemaVersion,
  sqliteConfigSchema,
  StoreVersionError,
} from "./mod.ts";
import {
  createTestContext,
  sampleEvent,
  sampleEvents,
  sampleFailureEvent,
  sampleGatewayErrorEvent,
  until,
} from "@sluice/core/testing";
import type { LogEvent } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const DAY = 86_400_000;
const WRITER = new URL("./testdata/writer.ts", import.meta.url).pathname;

async function tempDb(): Promise<
  { dir: string; path: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sqlite-" });
  return {
    dir,
    path: `${dir}/sluice.db`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The event as JSON keeps it (undefined fields gone). */
function asStored(event: LogEvent): LogEvent {
  return JSON.parse(JSON.stringify(event));
}

function allCalls(store: ReturnType<typeof openStore>, limit = 1_000): CallSummary[] {
  const out: CallSummary[] = [];
  let before: string | undefined;
  do {
    const page = store.listCalls({}, { limit, before });
    out.push(...page.calls);
    before = page.next;
  } while (before);
  return out;
}

function everyKind(): LogEvent[] {
  const t = Date.now() - 60_000;
  return [
    sampleEvent({ start_time: t }),
    sampleEvent({ start_time: t + 1, stream: true, finish_reasons: ["stop"] }),
    sampleFailureEvent({ start_time: t + 2 }),
    sampleEvent({
      start_time: t + 3,
      call_type: "embedding",
      model_group: "mock-embed",
      messages: ["first text", "second text"],
      response: { count: 2, dimensions: 1536 } as unknown as LogEvent["response"],
      completion_tokens: 0,
    }),
    sampleEvent({ start_time: t + 4, call_type: "completion", messages: "Once upon a time" }),
    sampleEvent({ start_time: t + 5, call_type: "responses" }),
    sampleEvent({
      start_time: t + 6,
      call_type: "messages",
      provider: "anthropic",
      api_base: "https://api.anthropic.com:443/v1",
      cache_read_input_tokens: 12,
      cache_creation_input_tokens: 3,
    }),
    sampleEvent({ start_time: t + 7, messages: "[REDACTED]", response: "[REDACTED]" }),
    sampleGatewayErrorEvent({ start_time: t + 8 }),
  ];
}

Deno.test("every event kind round-trips: the row's scalar fields and the whole event", async () => {
  await using db = await tempDb();
  const sink = createSqliteSink({ path: db.path });
  const events = everyKind();
  await sink.log(events);
  await sink.close?.();
  const store = openStore(db.path, { readOnly: true });
  try {
    for (const event of events) {
      const call = store.getCall(event.request_id);
      assert.ok(call, `${event.call_type} stored`);
      assert.deepEqual(call.event, asStored(event));
      assert.equal(call.call_id, event.call_id);
      assert.equal(call.response_id, event.id);
      assert.equal(call.trace_id, event.trace_id);
      assert.equal(call.span_id, event.span_id);
      assert.equal(call.start_time, event.start_time);
      assert.equal(call.end_time, event.end_time);
      assert.equal(call.status, event.status);
      assert.equal(call.call_type, event.call_type);
      assert.equal(call.stream, event.stream);
      assert.equal(call.model, event.model ?? null);
      assert.equal(call.model_group, event.model_group ?? null);
      assert.equal(call.provider, event.provider ?? null);
      assert.equal(call.api_base_host, event.api_base ? new URL(event.api_base).host : null);
      assert.equal(call.user, event.metadata.user_api_key_user_id ?? null);
      assert.equal(call.end_user, event.metadata.end_user ?? null);
      assert.equal(call.key_alias, event.metadata.user_api_key_alias ?? null);
      assert.equal(call.key_hash, event.metadata.user_api_key_hash ?? null);
      assert.equal(call.team, event.metadata.user_api_key_team ?? null);
      assert.deepEqual(call.tags, event.metadata.tags);
      assert.equal(call.prompt_tokens, event.prompt_tokens);
      assert.equal(call.completion_tokens, event.completion_tokens);
      assert.equal(call.total_tokens, event.total_tokens);
      assert.equal(call.cost, event.response_cost ?? null);
      assert.equal(call.response_time_ms, event.response_time_ms);
      assert.equal(
        call.ttft_ms,
        event.completion_start_time === undefined
          ? null
          : event.completion_start_time - event.start_time,
      );
      assert.equal(call.cache_hit, (event.cache_read_input_tokens ?? 0) > 0);
      assert.equal(call.error_status, event.error?.status ?? null);
      assert.equal(call.error_type, event.error?.class ?? null);
      assert.equal(call.error_code, event.error?.code ?? null);
      assert.equal(call.error_message, event.error?.message ?? null);
      assert.equal(call.source, event.source ?? null);
      assert.equal(call.finish_reason, event.finish_reasons?.[0] ?? null);
      // the row carries no raw key: only the hash column, and the event as redaction left it
      assert.ok(!Object.keys(call).some((k) => /api_key$|^key$/.test(k)));
    }
    const listed = allCalls(store);
    assert.deepEqual(
      listed.map((c) => c.request_id),
      [...events].reverse().map((e) => e.request_id),
      "newest first",
    );
    assert.equal(store.getCall(events[6].request_id)?.api_base_host, "api.anthropic.com");
    assert.deepEqual(store.integrityCheck(), ["ok"]);
  } finally {
    store.close();
  }
});

Deno.test("a retried or replayed batch adds nothing; an overlapping one adds only its new events", async () => {
  await using db = await tempDb();
  const sink = createSqliteSink({ path: db.path });
  const batch = sampleEvents(50);
  await sink.log(batch);
  await sink.log(batch);
  const more = sampleEvents(10);
  await sink.log([...batch.slice(40), ...more]);
  // a replay with a changed copy of a stored event keeps the first one
  await sink.log([{ ...batch[0], model_group: "changed" }]);
  await sink.close?.();
  const store = openStore(db.path);
  try {
    const stored = allCalls(store, 7);
    assert.equal(stored.length, 60);
    assert.equal(new Set(stored.map((c) => c.request_id)).size, 60);
    assert.equal(store.getCall(batch[0].request_id)?.model_group, "gpt-4o-mini");
    assert.deepEqual(store.write(batch), { inserted: 0, duplicates: 50 });
    // tags and search rows were not duplicated either
    assert.equal(store.listCalls({ tag: "sample" }, { limit: 1000 }).calls.length, 60);
    assert.equal(store.listCalls({ text: "Say hello" }, { limit: 1000 }).calls.length, 60);
  } finally {
    store.close();
  }
});

Deno.test("listCalls: filters and keyset pages agree with the events, newest first", () => {
  const store = openStore(":memory:");
  const t0 = Date.UTC(2026, 0, 1);
  const models = ["gpt-4o-mini", "claude-haiku", "mock-gpt"];
  const teams = ["team-a", "team-b"];
  const events: LogEvent[] = [];
  for (let i = 0; i < 300; i++) {
    const base = i % 5 === 0 ? sampleFailureEvent : sampleEvent;
    events.push(base({
      // some share a start time: the insertion order breaks the tie
      start_time: t0 + Math.floor(i / 3) * 1000,
      response_time_ms: 100 + (i * 37) % 900,
      model_group: models[i % 3],
      provider: i % 3 === 1 ? "anthropic" : "openai",
      call_type: i % 7 === 0 ? "embedding" : "chat",
      metadata: {
        user_api_key_alias: `key-${i % 4}`,
        user_api_key_team: teams[i % 2],
        user_api_key_user_id: `user-${i % 6}`,
        end_user: `end-${i % 5}`,
        tags: i % 10 === 0 ? ["rare", "x"] : ["common"],
        request: {},
      },
      messages: [{ role: "user", content: i % 25 === 0 ? `zebra number ${i}` : `plain ${i}` }],
    }));
  }
  // written in a shuffled order over several batches
  const shuffled = [...events].sort((a, b) => (a.request_id < b.request_id ? -1 : 1));
  for (let i = 0; i < shuffled.length; i += 64) store.write(shuffled.slice(i, i + 64));
  const seqOf = new Map(allCalls(store).map((c) => [c.request_id, c.seq]));
  const newestFirst = (list: LogEvent[]) =>
    [...list].sort((a, b) =>
      b.start_time - a.start_time || seqOf.get(b.request_id)! - seqOf.get(a.request_id)!
    ).map((e) => e.request_id);
  const cases: [Parameters<typeof store.listCalls>[0], (e: LogEvent) => boolean][] = [
    [{}, () => true],
    [{ model: "claude-haiku" }, (e) => e.model_group === "claude-haiku"],
    [{ status: "failure" }, (e) => e.status === "failure"],
    [
      { team: "team-b", status: "success" },
      (e) => e.metadata.user_api_key_team === "team-b" && e.status === "success",
    ],
    [{ keyAlias: "key-3" }, (e) => e.metadata.user_api_key_alias === "key-3"],
    [{ user: "user-2" }, (e) => e.metadata.user_api_key_user_id === "user-2"],
    [{ endUser: "end-4" }, (e) => e.metadata.end_user === "end-4"],
    [{ provider: "anthropic" }, (e) => e.provider === "anthropic"],
    [{ callType: "embedding" }, (e) => e.call_type === "embedding"],
    [{ tag: "rare" }, (e) => e.metadata.tags.includes("rare")],
    [
      { tag: "rare", model: "gpt-4o-mini" },
      (e) => e.metadata.tags.includes("rare") && e.model_group === "gpt-4o-mini",
    ],
    [
      { from: t0 + 20_000, to: t0 + 50_000 },
      (e) => e.start_time >= t0 + 20_000 && e.start_time < t0 + 50_000,
    ],
    [
      { tag: "common", from: t0 + 20_000, to: t0 + 50_000 },
      (e) =>
        e.metadata.tags.includes("common") && e.start_time >= t0 + 20_000 &&
        e.start_time < t0 + 50_000,
    ],
    [
      { minLatencyMs: 300, maxLatencyMs: 600 },
      (e) => e.response_time_ms >= 300 && e.response_time_ms <= 600,
    ],
    [{ minCost: 0.00003 }, (e) => (e.response_cost ?? -1) >= 0.00003],
    [{ maxCost: 0.00003 }, (e) => e.response_cost !== undefined && e.response_cost <= 0.00003],
    [{ text: "zebra" }, (e) => JSON.stringify(e.messages).includes("zebra")],
    [{ text: "ZEBRA numb" }, (e) => JSON.stringify(e.messages).includes("zebra number")],
    [
      { text: "zebra", status: "failure" },
      (e) => JSON.stringify(e.messages).includes("zebra") && e.status === "failure",
    ],
    [{ text: "nowhere-to-be-found" }, () => false],
  ];
  for (const [filter, keep] of cases) {
    const expected = newestFirst(events.filter(keep));
    for (const limit of [1, 7, 50, 1000]) {
      const got: string[] = [];
      let before: string | undefined;
      let pages = 0;
      do {
        const page = store.listCalls(filter, { limit, before });
        assert.ok(page.calls.length <= limit);
        got.push(...page.calls.map((c) => c.request_id));
        before = page.next;
        pages++;
        assert.ok(pages <= expected.length + 1, "paging ends");
      } while (before);
      assert.deepEqual(got, expected, `${JSON.stringify(filter)} limit ${limit}`);
    }
  }
  // after: newer than a cursor, for live updates
  const all = store.listCalls({}, { limit: 1000 }).calls;
  const cursor = `${all[10].start_time}.${all[10].seq}`;
  assert.deepEqual(
    store.listCalls({}, { after: cursor, limit: 1000 }).calls.map((c) => c.request_id),
    all.slice(0, 10).map((c) => c.request_id),
  );
  assert.throws(() => store.listCalls({}, { before: "nope" }), /not a cursor/);
  store.close();
});

Deno.test("stats: per-minute calls, errors, percentiles, tokens and cost by model, team and key", () => {
  const store = openStore(":memory:");
  const from = Date.UTC(2026, 0, 1, 12, 0);
  const events: LogEvent[] = [];
  for (let i = 0; i < 120; i++) {
    const make = i % 4 === 0 ? sampleFailureEvent : sampleEvent;
    events.push(make({
      start_time: from + i * 1500, // 40 per minute, over 3 minutes
      response_time_ms: 10 * (i + 1),
      model_group: i % 3 === 0 ? "a" : "b",
      metadata: {
        user_api_key_alias: i % 2 ? "k1" : undefined,
        user_api_key_hash: "abcdef0123456789abcdef",
        user_api_key_team: "t",
        tags: [],
        request: {},
      },
    }));
  }
  events.push(sampleGatewayErrorEvent({ start_time: from + 1000 }));
  events.push(sampleEvent({ start_time: from + 3 * 60_000 })); // outside the window
  store.write(events);
  const stats = store.stats({ from, to: from + 3 * 60_000 });
  const inWindow = events.slice(0, 120);
  const nearest = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.ceil(p * sorted.length) - 1];
  };
  assert.equal(stats.bucketMs, 60_000);
  assert.equal(stats.buckets.length, 3);
  for (const [m, bucket] of stats.buckets.entries()) {
    const mine = inWindow.filter((e) => Math.floor((e.start_time - from) / 60_000) === m);
    assert.equal(bucket.start, from + m * 60_000);
    assert.equal(bucket.calls, mine.length);
    assert.equal(bucket.errors, mine.filter((e) => e.status === "failure").length);
    assert.equal(bucket.p50_ms, nearest(mine.map((e) => e.response_time_ms), 0.5));
    assert.equal(bucket.p95_ms, nearest(mine.map((e) => e.response_time_ms), 0.95));
    assert.equal(bucket.prompt_tokens, mine.reduce((s, e) => s + e.prompt_tokens, 0));
    const ttfts = mine.filter((e) => e.completion_start_time !== undefined)
      .map((e) => e.completion_start_time! - e.start_time);
    assert.equal(bucket.ttft_p50_ms, nearest(ttfts, 0.5));
  }
  assert.equal(stats.totals.calls, 120);
  assert.equal(stats.totals.errors, 30);
  assert.equal(stats.totals.p95_ms, nearest(inWindow.map((e) => e.response_time_ms), 0.95));
  const cost = inWindow.reduce((s, e) => s + (e.response_cost ?? 0), 0);
  assert.ok(Math.abs(stats.totals.cost - cost) < 1e-12);
  const byModel = new Map(stats.byModel.map((g) => [g.key, g]));
  assert.equal(byModel.get("a")?.calls, inWindow.filter((e) => e.model_group === "a").length);
  assert.deepEqual(stats.byTeam.map((g) => [g.key, g.calls]), [["t", 120]]);
  assert.deepEqual(
    stats.byKey.map((g) => [g.key, g.calls]).sort(),
    [["k1", 60], ["sha256:abcdef012345", 60]],
  );
  store.close();
});

Deno.test("traceSpans: the calls of a trace and its stored OTLP spans, by start time", async () => {
  await using db = await tempDb();
  const store = openStore(db.path);
  const trace = "0af7651916cd43dd8448eb211c80319c";
  const t = Date.now();
  const first = sampleEvent({ trace_id: trace, start_time: t, parent_span_id: "b7ad6b7169203331" });
  const second = sampleFailureEvent({ trace_id: trace, start_time: t + 500 });
  store.write([first, second, sampleEvent()]);
  const raw = new DatabaseSync(db.path);
  raw.prepare(
    "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, service_name, start_time, end_time, status_code, attributes, received_at) VALUES (?, ?, NULL, ?, 1, ?, ?, ?, 2, '{}', ?)",
  ).run(trace, "b7ad6b7169203331", "handle request", "app", t - 10.5, t + 2000, t);
  raw.close();
  const spans = store.traceSpans(trace);
  assert.deepEqual(spans.map((s) => [s.source, s.span_id]), [
    ["otlp", "b7ad6b7169203331"],
    ["call", first.span_id],
    ["call", second.span_id],
  ]);
  assert.equal(spans[0].start_time, t - 10.5);
  assert.equal(spans[0].error, true);
  assert.equal(spans[0].service_name, "app");
  assert.equal(spans[1].parent_span_id, "b7ad6b7169203331");
  assert.equal(spans[1].request_id, first.request_id);
  assert.equal(spans[2].error, true);
  assert.deepEqual(store.traceSpans("f".repeat(32)), []);
  assert.deepEqual(
    store.listCalls({ traceId: trace }).calls.map((c) => c.request_id),
    [second.request_id, first.request_id],
  );
  store.close();
});

Deno.test("retention by age: a moved clock deletes old calls, their tags, search rows and spans", async () => {
  await using db = await tempDb();
  let now = Date.now();
  const results: number[] = [];
  const sink = createSqliteSink({
    path: db.path,
    retentionDays: 7,
    now: () => now,
    onPrune: (r) => results.push(r.byAge),
  });
  const old = sampleEvents(30, { start_time: now - 3 * DAY });
  const recent = sampleEvents(20, { start_time: now - DAY });
  await sink.log([...old, ...recent]);
  const store = openStore(db.path);
  try {
    store.write([]); // no-op
    const raw = new DatabaseSync(db.path);
    raw.prepare(
      "INSERT INTO spans (trace_id, span_id, name, start_time, end_time, received_at) VALUES ('t', 's', 'old', ?, ?, ?)",
    ).run(now - 3 * DAY, now - 3 * DAY + 5, now);
    raw.close();
    assert.equal((await sink.prune()).byAge, 0, "nothing is older than 7 days yet");
    now += 5 * DAY; // old calls are now 8 days old, recent ones 6
    const result = await sink.prune();
    assert.equal(result.byAge, 30);
    assert.equal(result.spans, 1);
    const left = allCalls(store).map((c) => c.request_id).sort();
    assert.deepEqual(left, recent.map((e) => e.request_id).sort());
    assert.equal(store.listCalls({ tag: "sample" }, { limit: 1000 }).calls.length, 20);
    assert.equal(store.listCalls({ text: "hello" }, { limit: 1000 }).calls.length, 20);
    const check = new DatabaseSync(db.path, { readOnly: true });
    assert.equal(check.prepare("SELECT count(*) AS n FROM call_tags").get()?.n, 20);
    assert.equal(check.prepare("SELECT count(*) AS n FROM spans").get()?.n, 0);
    check.close();
    assert.ok(results.length >= 2, "the start-up run and ours reported");
  } finally {
    store.close();
    await sink.close?.();
  }
});

Deno.test("retention by size: the oldest calls go until the file uses under 90% of max_bytes", async () => {
  await using db = await tempDb();
  const maxBytes = 2_000_000;
  const store = openStore(db.path);
  const t0 = Date.now() - DAY;
  const big = "x".repeat(4_000);
  const events = Array.from({ length: 1_000 }, (_, i) =>
    sampleEvent({
      start_time: t0 + i * 1000,
      messages: [{ role: "user", content: `${i} ${big}` }],
    }));
  for (let i = 0; i < events.length; i += 100) store.write(events.slice(i, i + 100));
  const before = store.usedBytes();
  assert.ok(before > maxBytes, `the test writes more than the cap (${before})`);
  const checkpoint = () => {
    const raw = new DatabaseSync(db.path);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    raw.close();
  };
  checkpoint(); // everything in the main file, so its size is the database's
  const sizeBefore = (await Deno.stat(db.path)).size;
  const result = await store.prune({ maxBytes, chunk: 50 });
  assert.ok(result.bySize > 0);
  assert.ok(result.usedBytes <= maxBytes * 0.9, `${result.usedBytes} <= 90% of ${maxBytes}`);
  const left = allCalls(store);
  assert.equal(left.length, events.length - result.bySize);
  // exactly the newest are kept
  assert.deepEqual(
    left.map((c) => c.request_id),
    events.slice(result.bySize).reverse().map((e) => e.request_id),
  );
  checkpoint(); // the vacuum's truncation reaches the file at a checkpoint
  const sizeAfter = (await Deno.stat(db.path)).size;
  assert.ok(
    sizeAfter < sizeBefore,
    `incremental vacuum shrank the file: ${sizeBefore} -> ${sizeAfter}`,
  );
  assert.deepEqual(store.integrityCheck(), ["ok"]);
  store.close();
});

Deno.test("migrations: a version-1 file made by hand is migrated on open; a newer one is refused", async () => {
  await using db = await tempDb();
  const raw = new DatabaseSync(db.path);
  raw.exec(MIGRATIONS[0].sql);
  raw.exec(
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  raw.prepare("INSERT INTO schema_version VALUES (1, 'by hand', 0)").run();
  const old = sampleEvent({ messages: [{ role: "user", content: "a kumquat question" }] });
  raw.prepare(
    "INSERT INTO calls (request_id, call_id, trace_id, span_id, start_time, end_time, status, call_type, stream, tags, prompt_tokens, completion_tokens, total_tokens, response_time_ms, cache_hit, event) VALUES (?, ?, ?, ?, ?, ?, 'success', 'chat', 0, '[]', 1, 1, 2, 5, 0, ?)",
  ).run(
    old.request_id,
    old.call_id,
    old.trace_id,
    old.span_id,
    old.start_time,
    old.end_time,
    JSON.stringify(old),
  );
  raw.close();
  // a reader does not migrate
  assert.throws(() => openStore(db.path, { readOnly: true }), /schema version 1, not 2/);
  const store = openStore(db.path);
  assert.deepEqual(
    store.listCalls({ text: "kumquat" }).calls.map((c) => c.request_id),
    [old.request_id],
    "the migration back-filled the search index",
  );
  store.write([sampleEvent()]);
  store.close();
  const check = new DatabaseSync(db.path);
  assert.equal(schemaVersion(check), SCHEMA_VERSION);
  assert.deepEqual(
    check.prepare("SELECT version FROM schema_version ORDER BY version").all().map((r) =>
      r.version
    ),
    [1, 2],
  );
  check.prepare("INSERT INTO schema_version VALUES (?, 'from the future', 0)").run(
    SCHEMA_VERSION + 1,
  );
  check.close();
  for (const readOnly of [false, true]) {
    assert.throws(() => openStore(db.path, { readOnly }), (error: Error) => {
      assert.ok(error instanceof StoreVersionError);
      assert.equal((error as StoreVersionError).code, "store_too_new");
      assert.match(error.message, /schema version 3, newer than the 2 .*upgrade the gateway/);
      return true;
    });
  }
  // a plugin refuses to start on it, naming the file
  assert.throws(
    () => sqlitePlugin.create({ path: db.path }, createTestContext()),
    new RegExp(`${db.path.replaceAll("/", "\\/")} has schema version 3`),
  );
});

Deno.test("two writer processes and a paging reader share one file (WAL): nothing lost, nothing doubled", async () => {
  await using db = await tempDb();
  openStore(db.path).close(); // created and migrated before the writers start
  const batches = 40;
  const size = 100;
  const writers = ["wa", "wb"].map((prefix) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WRITER, db.path, prefix, String(batches), String(size)],
      stdout: "null",
      stderr: "piped",
    }).spawn()
  );
  const reader = openStore(db.path, { readOnly: true });
  let reads = 0;
  let done = false;
  const statuses = Promise.all(writers.map((w) => w.output()));
  statuses.then(() => (done = true));
  while (!done) {
    // page through whatever is committed: pages never repeat or reorder rows
    const seen = new Set<string>();
    let before: string | undefined;
    let last: [number, number] = [Infinity, Infinity];
    do {
      const page = reader.listCalls({ model: "gpt-4o-mini" }, { limit: 500, before });
      for (const call of page.calls) {
        assert.ok(!seen.has(call.request_id));
        seen.add(call.request_id);
        assert.ok(
          call.start_time < last[0] || (call.start_time === last[0] && call.seq < last[1]),
        );
        last = [call.start_time, call.seq];
      }
      before = page.next;
    } while (before);
    reader.stats({ from: Date.now() - DAY, to: Date.now() + DAY });
    reads++;
    await new Promise((resolve) => setTimeout(resolve, 5)); // let the writers' output settle
  }
  for (const output of await statuses) {
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  }
  const all = allCalls(reader);
  assert.equal(all.length, 2 * batches * size);
  assert.equal(new Set(all.map((c) => c.request_id)).size, all.length);
  assert.equal(reader.listCalls({ tag: "wa" }, { limit: 1000 }).calls.length, 1000);
  assert.deepEqual(reader.integrityCheck(), ["ok"]);
  assert.ok(reads > 0);
  reader.close();
});

Deno.test("three processes creating the same new file at once migrate it once", async () => {
  await using db = await tempDb();
  const outputs = await Promise.all(
    ["m1", "m2", "m3"].map((prefix) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", WRITER, db.path, prefix, "2", "10"],
        stdout: "null",
        stderr: "piped",
      }).output()
    ),
  );
  for (const output of outputs) {
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  }
  const raw = new DatabaseSync(db.path, { readOnly: true });
  assert.deepEqual(
    raw.prepare("SELECT version FROM schema_version ORDER BY version").all().map((r) => r.version),
    [1, 2],
  );
  assert.equal(raw.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
  assert.equal(raw.prepare("PRAGMA auto_vacuum").get()?.auto_vacuum, 2, "incremental");
  assert.equal(raw.prepare("SELECT count(*) AS n FROM calls").get()?.n, 60);
  raw.close();
});

Deno.test("kill -9 of a writer mid-batch leaves a sound file with whole batches only", async () => {
  await using db = await tempDb();
  const size = 2_000; // a batch takes tens of milliseconds to write: the kill lands inside it
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, db.path, "k", "0", String(size)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  const KILL_AT = 4;
  while (!output.includes(`begin ${KILL_AT}\n`)) {
    const { value, done } = await lines.read();
    if (done) break;
    output += value;
  }
  child.kill("SIGKILL"); // while batch KILL_AT is being written
  await child.status;
  await lines.cancel().catch(() => {});
  assert.match(output, new RegExp(`committed ${KILL_AT - 1}\n`));
  const store = openStore(db.path);
  try {
    assert.deepEqual(store.integrityCheck(), ["ok"]);
    const counts = new Map<number, number>();
    for (const call of allCalls(store)) {
      const batch = Number(call.request_id.split("-")[1]);
      counts.set(batch, (counts.get(batch) ?? 0) + 1);
    }
    for (let b = 0; b < KILL_AT; b++) assert.equal(counts.get(b), size, `batch ${b} is whole`);
    // the batch being written is all there (it committed before the signal) or not at all
    assert.ok(
      [undefined, size].includes(counts.get(KILL_AT)),
      `batch ${KILL_AT}: ${counts.get(KILL_AT)}`,
    );
    assert.deepEqual([...counts.keys()].filter((b) => b > KILL_AT), []);
    // its tags and search rows went with it
    const tags = store.listCalls({ tag: "k" }, { limit: 1000 });
    assert.ok(tags.calls.every((c) => counts.has(Number(c.request_id.split("-")[1]))));
    // the file takes writes again
    assert.equal(store.write(sampleEvents(2)).inserted, 2);
  } finally {
    store.close();
  }
});

Deno.test("a failed transaction stores nothing and rejects as retryable; the retry stores the batch", async () => {
  await using db = await tempDb();
  const sink = createSqliteSink({ path: db.path, busyTimeoutMs: 50 });
  const locker = new DatabaseSync(db.path);
  locker.exec("BEGIN IMMEDIATE"); // another connection holds the write lock
  const batch = sampleEvents(5);
  const error = await Promise.resolve(sink.log(batch)).then(() => assert.fail("stored"), (e) => e);
  assert.match(error.message, /sqlite: cannot store a batch of 5 events in .*sluice\.db: .*locked/);
  assert.notEqual(error.permanent, true);
  locker.exec("ROLLBACK");
  locker.close();
  await sink.log(batch);
  const bad = sampleEvent({ response: { n: 1n } as unknown as LogEvent["response"] });
  const good = sampleEvent();
  await assert.rejects(
    Promise.resolve(sink.log([good, bad])),
    (e: Error & { permanent?: boolean }) => {
      assert.equal(e.permanent, true);
      assert.match(e.message, new RegExp(bad.request_id));
      return true;
    },
  );
  await sink.close?.();
  await assert.rejects(Promise.resolve(sink.log([sampleEvent()])), /after close/);
  const store = openStore(db.path, { readOnly: true });
  assert.equal(allCalls(store).length, 6, "the batch once, and the good event beside the bad one");
  store.close();
});

Deno.test("the plugin definition: contract v1, version from deno.json, schema, config checked", async () => {
  assert.equal(sqlitePlugin.apiVersion, 1);
  assert.equal(sqlitePlugin.name, "sqlite");
  assert.equal(sqlitePlugin.version, denoJson.version);
  assert.equal(sqlitePlugin.configSchema, sqliteConfigSchema);
  assert.doesNotThrow(() => structuredClone(sqliteConfigSchema));
  const props = sqliteConfigSchema.properties as Record<string, { description: string }>;
  assert.match(props.path.description, /default <data_dir>\/sluice\.db/);
  const ctx = createTestContext();
  assert.throws(() => sqlitePlugin.create({ path: "" }, ctx), /path must be a non-empty/);
  assert.throws(() => sqlitePlugin.create({ max_bytes: -1 }, ctx), /config\.max_bytes/);
  assert.throws(
    () => sqlitePlugin.create({ retention_days: "7" as unknown as number }, ctx),
    /retention_days must be a number/,
  );
  assert.throws(() => sqlitePlugin.create({ size: 1 } as never, ctx), /size/);
  // without path: <data_dir>/sluice.db of the gateway
  const dataDir = await Deno.makeTempDir();
  const sink = await sqlitePlugin.create({}, { ...ctx, dataDir });
  await sink.log([sampleEvent()]);
  await sink.close?.();
  const store = openStore(`${dataDir}/sluice.db`, { readOnly: true });
  assert.equal(store.listCalls().calls.length, 1);
  store.close();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("retention runs at start and on its interval, off the write path", async () => {
  await using db = await tempDb();
  const seed = openStore(db.path);
  seed.write(sampleEvents(3, { start_time: Date.now() - 40 * DAY }));
  seed.close();
  let runs = 0;
  let deleted = 0;
  const sink = createSqliteSink({
    path: db.path,
    retentionDays: 30,
    retentionIntervalMs: 20,
    onPrune: (r) => {
      runs++;
      deleted += r.byAge;
    },
  });
  await until(() => deleted === 3, 5_000, "the start-up run");
  await sink.log(sampleEvents(2, { start_time: Date.now() - 31 * DAY }));
  await until(() => deleted === 5, 5_000, "an interval run");
  assert.ok(runs >= 2);
  await sink.close?.();
});
