/**
 * Test and bench support for `@sluice/sqlite` (not published): a store file
 * filled with many synthetic calls in one transaction, fast enough for a
 * million rows.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { openStore } from "./store.ts";

/** Options of {@link generateCalls}. */
export interface GenerateOptions {
  /** Calls to write. */
  rows: number;
  /** The first call's start time minus one spacing (epoch ms). */
  t0: number;
  /** Milliseconds between two calls' start times. */
  spacingMs: number;
}

/**
 * Creates (or migrates) the store at `path` and fills it with `rows`
 * synthetic calls in one transaction (`WITH RECURSIVE`), with their tags
 * (`prod` on all, `rare` on 0.1%) and search text ("question <i> about
 * order <i % 5000>"), then `ANALYZE`s it. Models cycle over gpt-4o,
 * gpt-4o-mini, claude-haiku and mock-gpt; 2% fail; 13 keys, 7 teams, 97 users.
 *
 * @param path The database file.
 * @param options How many calls, from when, how far apart.
 * @returns Seconds the generation took.
 */
export function generateCalls(path: string, options: GenerateOptions): number {
  const { rows: ROWS, t0, spacingMs: SPACING_MS } = options;
  const bigPath = path;
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
  return (performance.now() - started) / 1000;
}
