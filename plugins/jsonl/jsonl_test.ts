import assert from "node:assert/strict";
import jsonlPlugin, { createJsonlSink, jsonlConfigSchema, jsonlFileName } from "./mod.ts";
import { createTestContext, sampleEvent, sampleEvents } from "@sluice/core/testing";
import type { LogEvent } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const DAY1 = Date.UTC(2025, 0, 31, 23, 59, 59, 500);
const DAY2 = Date.UTC(2025, 1, 1, 0, 0, 0, 100);

async function readEvents(path: string): Promise<LogEvent[]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"), "every line ends with a newline");
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

Deno.test("jsonlFileName is the UTC date of start_time", () => {
  assert.equal(jsonlFileName(sampleEvent({ start_time: DAY1 })), "events-2025-01-31.jsonl");
  assert.equal(jsonlFileName(sampleEvent({ start_time: DAY2 })), "events-2025-02-01.jsonl");
  const today = new Date().toISOString().slice(0, 10);
  assert.equal(jsonlFileName(sampleEvent({ start_time: NaN })), `events-${today}.jsonl`);
});

Deno.test("two batches across two dates land in two files and parse back to the events", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = await jsonlPlugin.create({ dir: `${dir}/logs/` }, createTestContext());
    const first = [
      sampleEvent({ start_time: DAY1 }),
      sampleEvent({ start_time: DAY1 + 100 }),
      sampleEvent({ start_time: DAY2 }),
    ];
    const second = [sampleEvent({ start_time: DAY2 + 5 }), sampleEvent({ start_time: DAY1 + 200 })];
    await sink.log(first);
    await sink.log(second);
    await sink.close?.();

    const names = [];
    for await (const entry of Deno.readDir(`${dir}/logs`)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["events-2025-01-31.jsonl", "events-2025-02-01.jsonl"]);
    assert.deepEqual(await readEvents(`${dir}/logs/events-2025-01-31.jsonl`), [
      first[0],
      first[1],
      second[1],
    ]);
    assert.deepEqual(await readEvents(`${dir}/logs/events-2025-02-01.jsonl`), [
      first[2],
      second[0],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a batch is confirmed before log resolves, with fsync, and appends to existing files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/events-2025-01-31.jsonl`;
    await Deno.writeTextFile(path, '{"earlier":true}\n');
    const sink = await createJsonlSink({ dir, fsync: true });
    const batch = sampleEvents(50, { start_time: DAY1 });
    await sink.log(batch);
    // read while the sink is still open: the lines are already there
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(lines.length, 51);
    assert.deepEqual(JSON.parse(lines[0]), { earlier: true });
    assert.deepEqual(lines.slice(1).map((l) => JSON.parse(l)), batch);
    await sink.close?.();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent batches are not interleaved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = await createJsonlSink({ dir });
    const a = sampleEvents(200, { start_time: DAY1 });
    const b = sampleEvents(200, { start_time: DAY1 });
    await Promise.all([sink.log(a), sink.log(b)]);
    await sink.flush?.();
    assert.deepEqual(await readEvents(`${dir}/events-2025-01-31.jsonl`), [...a, ...b]);
    await sink.close?.();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write rejects log (retryable), and the retry succeeds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = await createJsonlSink({ dir: `${dir}/logs` });
    await sink.log([sampleEvent({ start_time: DAY1 })]);
    await Deno.remove(`${dir}/logs`, { recursive: true });
    const batch = [sampleEvent({ start_time: DAY2 })];
    const error = await Promise.resolve(sink.log(batch)).then(
      () => assert.fail("log resolved"),
      (e) => e,
    );
    assert.match(error.message, /jsonl: cannot append to .*events-2025-02-01\.jsonl/);
    assert.notEqual(error.permanent, true);
    await Deno.mkdir(`${dir}/logs`);
    await sink.log(batch);
    assert.deepEqual(await readEvents(`${dir}/logs/events-2025-02-01.jsonl`), batch);
    await sink.close?.();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unserialisable events are permanent; log after close rejects", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = await createJsonlSink({ dir });
    const bad = sampleEvent({ response: { tokens: 1n } });
    await assert.rejects(Promise.resolve(sink.log([bad])), (e: Error & { permanent?: boolean }) => {
      assert.equal(e.permanent, true);
      assert.match(e.message, new RegExp(bad.request_id));
      return true;
    });
    await sink.close?.();
    await assert.rejects(Promise.resolve(sink.log([sampleEvent()])), /after close/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the plugin definition: contract v1, version from deno.json, schema, config checked", () => {
  assert.equal(jsonlPlugin.apiVersion, 1);
  assert.equal(jsonlPlugin.name, "jsonl");
  assert.equal(jsonlPlugin.version, denoJson.version);
  assert.equal(jsonlPlugin.configSchema, jsonlConfigSchema);
  assert.match(
    (jsonlConfigSchema.properties as Record<string, { description: string }>).dir.description,
    /default <data_dir>\/logs/,
  );
  assert.doesNotThrow(() => structuredClone(jsonlConfigSchema));
  const ctx = createTestContext();
  assert.throws(() => jsonlPlugin.create({ dir: "" }, ctx), /dir must be a non-empty path/);
  assert.throws(
    () => jsonlPlugin.create({ fsync: "yes" as unknown as boolean }, ctx),
    /fsync must be true or false/,
  );
});

Deno.test("without dir, events go to <data_dir>/logs of the gateway", async () => {
  const dataDir = await Deno.makeTempDir();
  const sink = await jsonlPlugin.create({}, { ...createTestContext(), dataDir });
  await sink.log([sampleEvent()]);
  await sink.close?.();
  const files = [...Deno.readDirSync(`${dataDir}/logs`)].map((e) => e.name);
  assert.equal(files.length, 1);
  assert.match(files[0], /^events-\d{4}-\d{2}-\d{2}\.jsonl$/);
  await Deno.remove(dataDir, { recursive: true });
});
