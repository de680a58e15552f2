/**
 * A writer process for the store's tests: writes `batches` batches of
 * `size` events with request ids `<prefix>-<batch>-<i>` through a sqlite
 * sink, printing `begin <batch>` once the batch is built, just before it is
 * written, and `committed <batch>` after (forever when batches is 0).
 *
 * deno run -A writer.ts <path> <prefix> <batches> <size>
 */
import { createSqliteSink } from "../mod.ts";
import { sampleEvent } from "@sluice/core/testing";

const [path, prefix, batchesArg, sizeArg] = Deno.args;
const batches = Number(batchesArg);
const size = Number(sizeArg);
const sink = createSqliteSink({ path, busyTimeoutMs: 30_000 });
const encoder = new TextEncoder();
for (let batch = 0; batches === 0 || batch < batches; batch++) {
  const events = Array.from({ length: size }, (_, i) =>
    sampleEvent({
      request_id: `${prefix}-${batch}-${i}`,
      model_group: i % 2 ? "gpt-4o-mini" : "claude-haiku",
      metadata: { tags: [prefix, `b${batch % 3}`], request: {} },
    }));
  await Deno.stdout.write(encoder.encode(`begin ${batch}\n`));
  await sink.log(events);
  await Deno.stdout.write(encoder.encode(`committed ${batch}\n`));
}
await sink.close?.();
