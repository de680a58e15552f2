/**
 * The JSONL sink: one JSON event per line in `<dir>/events-YYYY-MM-DD.jsonl`
 * (UTC date of the call's start), appended and confirmed per batch.
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";
import type { Sink } from "./types.ts";

/** The file an event belongs to. */
export function jsonlFileName(event: LogEvent): string {
  return `events-${new Date(event.start_time).toISOString().slice(0, 10)}.jsonl`;
}

/** Creates a JSONL sink writing under `dir` (created if missing). */
export async function createJsonlSink(dir: string): Promise<Sink> {
  await Deno.mkdir(dir, { recursive: true });
  const encoder = new TextEncoder();
  let open: { name: string; file: Deno.FsFile } | undefined;

  async function fileFor(name: string): Promise<Deno.FsFile> {
    if (open?.name === name) return open.file;
    open?.file.close();
    open = { name, file: await Deno.open(`${dir}/${name}`, { append: true, create: true }) };
    return open.file;
  }

  return {
    async log(events) {
      const byFile = new Map<string, string[]>();
      for (const event of events) {
        const name = jsonlFileName(event);
        const lines = byFile.get(name) ?? [];
        lines.push(JSON.stringify(event));
        byFile.set(name, lines);
      }
      for (const [name, lines] of byFile) {
        const file = await fileFor(name);
        const bytes = encoder.encode(lines.join("\n") + "\n");
        for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
      }
    },
    close() {
      open?.file.close();
      open = undefined;
    },
  };
}
