/**
 * `deno bench -A bench/sqlite_store.ts`: the SQLite store of `@sluice/sqlite`.
 *
 * - insert: batches of 100 realistic events (`sampleEvent`) through
 *   `SqliteStore.write` (one transaction each, every index, tags and the
 *   full-text index), into a fresh file and into the 1M-row file;
 * - listCalls at 1M stored calls: the first page (50 rows, newest first),
 *   filtered pages (model, status, team + status, a rare tag, a text search),
 *   a page 200 pages deep through the keyset cursor, and the overview's
 *   `stats` over the last hour; and two worst cases: a filter on a column
 *   without an index that matches nothing, and a search word every call has.
 *
 * The 1M rows are generated in one transaction of synthetic rows
 * (`WITH RECURSIVE`, 0.6 s apart: about 7 days), with their tags and
 * search text, then `ANALYZE`d as `PRAGMA optimize` would.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { type CallPage, openStore } from "../plugins/sqlite/mod.ts";
import { sampleEvent } from "../core/testing.ts";
import type { LogEvent } from "../core/plugin.ts";

const ROWS = 1_000_000;
const SPACING_MS = 600;
const dir = Deno.makeTempDirSync({ prefix: "sluice-sqlite-bench-" });
const bigPath = `${dir}/big.db`;
const t0 = Date.now() - ROWS * SPACING_MS;

function generate(): void {
  openStore(bigPath).close(); // schema
  const db = new DatabaseSync(bigPath);
  const started = performance.now();
  db.exec("BEGIN");
  db.prepare(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO calls (request_id, call_id, response_id, trace_id, span_id, start_time, end_time,
      status, call_type, stream, model, model_group, provider, api_base_host, user, end_user,
      key_alias, key_hash, team, tags, prompt_tokens, completion_tokens, total_tokens, cost,
      response_time_ms, ttft_ms, cache_hit, error_status, error_type, event)
    SELECT printf('req-%08d', i), printf('call-%08d', i), printf('chatcmpl-%d', i),
      printf('%032x', i), printf('%016x', i), ? + i * ${SPACING_MS}, ? + i * ${SPACING_MS} + 300 + i % 700,
      CASE WHEN i % 50 = 0 THEN 'failure' ELSE 'success' END, 'chat', i % 2,
      CASE i % 4 WHEN 0 THEN 'gpt-4o-2024-08-06' WHEN 1 THEN 'gpt-4o-mini-2024-07-18'
        WHEN 2 THEN 'claude-3-5-haiku' ELSE 'mock-gpt' END,
      CASE i % 4 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'claude-haiku' ELSE 'mock-gpt' END,
      CASE i % 4 WHEN 2 THEN 'anthropic' WHEN 3 THEN 'mock' ELSE 'openai' END, 'api.openai.com',
      printf('user-%d', i % 97), printf('end-%d', i % 1009), printf('key-%d', i % 13),
      printf('%064x', i % 13), printf('team-%d', i % 7),
      CASE WHEN i % 1000 = 0 THEN '["prod","rare"]' ELSE '["prod"]' END,
      20 + i % 50, 40 + i % 90, 60 + i % 50 + i % 90, (20 + i % 50) * 1.5e-7 + (40 + i % 90) * 6e-7,
      300 + i % 700, 80 + i % 200, 0,
      CASE WHEN i % 50 = 0 THEN 429 END, CASE WHEN i % 50 = 0 THEN 'RateLimitError' END,
      json_object('schema_version', 1, 'request_id', printf('req-%08d', i),
        'messages', json_array(json_object('role', 'user', 'content', printf('question %d about order %d', i, i % 5000))))
    FROM n`).run(ROWS, t0, t0);
  db.exec(`INSERT INTO call_tags (tag, start_time, seq) SELECT 'prod', start_time, seq FROM calls;
    INSERT INTO call_tags (tag, start_time, seq) SELECT 'rare', start_time, seq FROM calls WHERE tags LIKE '%rare%';
    INSERT INTO calls_fts (rowid, text) SELECT seq, printf('question %d about order %d', seq, seq % 5000) FROM calls;`);
  db.exec("COMMIT");
  db.exec("ANALYZE");
  db.close();
  console.log(
    `generated ${ROWS} calls in ${((performance.now() - started) / 1000).toFixed(1)} s, ${
      (Deno.statSync(bigPath).size / 1e6).toFixed(0)
    } MB`,
  );
}

generate();
const big = openStore(bigPath, { readOnly: true });
const small = openStore(`${dir}/insert.db`);
const bigWriter = openStore(bigPath);

function batch(start = Date.now()): LogEvent[] {
  return Array.from(
    { length: 100 },
    () => sampleEvent({ start_time: start, metadata: { tags: ["bench"], request: {} } }),
  );
}

Deno.bench("insert 100 events in one transaction (fresh file)", { group: "insert" }, (b) => {
  const events = batch();
  b.start();
  small.write(events);
  b.end();
});

Deno.bench("insert 100 events in one transaction (file of 1M calls)", { group: "insert" }, (b) => {
  const events = batch(t0 - 86_400_000); // older than the listed pages: they stay as generated
  b.start();
  bigWriter.write(events);
  b.end();
});

const now = Date.now() + 1;
let deepCursor: string | undefined;
{
  let page: CallPage = big.listCalls({}, { limit: 50 });
  for (let i = 0; i < 200 && page.next; i++) {
    page = big.listCalls({}, { limit: 50, before: page.next });
  }
  deepCursor = page.next;
}

Deno.bench("listCalls first page (50, newest first)", { group: "list", baseline: true }, () => {
  big.listCalls({}, { limit: 50 });
});
Deno.bench("listCalls model = gpt-4o-mini", { group: "list" }, () => {
  big.listCalls({ model: "gpt-4o-mini" }, { limit: 50 });
});
Deno.bench("listCalls status = failure (2%)", { group: "list" }, () => {
  big.listCalls({ status: "failure" }, { limit: 50 });
});
Deno.bench("listCalls team-3 + failure", { group: "list" }, () => {
  big.listCalls({ team: "team-3", status: "failure" }, { limit: 50 });
});
Deno.bench("listCalls tag = rare (0.1%)", { group: "list" }, () => {
  big.listCalls({ tag: "rare" }, { limit: 50 });
});
Deno.bench("listCalls text 'order 4242'", { group: "list" }, () => {
  big.listCalls({ text: "order 4242" }, { limit: 50 });
});
Deno.bench("listCalls page 201 (keyset cursor)", { group: "list" }, () => {
  big.listCalls({}, { limit: 50, before: deepCursor });
});
Deno.bench("listCalls provider = none such (worst case: no index, no match, full scan)", {
  group: "worst",
}, () => {
  big.listCalls({ provider: "none-such" }, { limit: 50 });
});
Deno.bench("listCalls text 'question' (worst case: every call matches)", { group: "worst" }, () => {
  big.listCalls({ text: "question" }, { limit: 50 });
});
Deno.bench("stats last hour (6,000 calls, per minute)", { group: "stats" }, () => {
  big.stats({ from: now - 3_600_000, to: now });
});

globalThis.addEventListener("unload", () => {
  big.close();
  small.close();
  bigWriter.close();
  Deno.removeSync(dir, { recursive: true });
});
