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
import { type CallPage, openStore } from "../plugins/sqlite/mod.ts";
import { generateCalls } from "../plugins/sqlite/test_support.ts";
import { sampleEvent } from "../core/testing.ts";
import type { LogEvent } from "../core/plugin.ts";

const ROWS = 1_000_000;
const SPACING_MS = 600;
const dir = Deno.makeTempDirSync({ prefix: "sluice-sqlite-bench-" });
const bigPath = `${dir}/big.db`;
const t0 = Date.now() - ROWS * SPACING_MS;

function generate(): void {
  const seconds = generateCalls(bigPath, { rows: ROWS, t0, spacingMs: SPACING_MS });
  console.log(
    `generated ${ROWS} calls in ${seconds.toFixed(1)} s, ${
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
