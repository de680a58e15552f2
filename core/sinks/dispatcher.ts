/**
 * The in-process log dispatcher: decides which sinks get an event, queues it
 * per sink, and delivers batches off the request path. `emit` never awaits.
 * @module
 */
import type { GatewayConfig, SinkConfig } from "../config/schema.ts";
import { sinkInstanceName } from "../config/semantics.ts";
import type { LogEvent } from "../event/log_event.ts";
import { createConsoleSink } from "./console.ts";
import { createJsonlSink } from "./jsonl.ts";
import type { CallControls, Sink } from "./types.ts";

/** Built-in sink factories by `use:` name. */
export const BUILT_IN_SINKS: Record<
  string,
  (entry: SinkConfig, config: GatewayConfig) => Promise<Sink> | Sink
> = {
  console: () => createConsoleSink(),
  jsonl: (entry, config) => {
    const dir = typeof entry.config.dir === "string"
      ? entry.config.dir
      : `${config.server.data_dir}/logs`;
    return createJsonlSink(dir);
  },
};

const MAX_ATTEMPTS = 3;

interface Runner {
  name: string;
  plugin: string;
  entry: SinkConfig;
  on: ReadonlySet<string>;
  sink: Sink;
  queue: LogEvent[];
  timer?: ReturnType<typeof setTimeout>;
  sending?: Promise<void>;
  sent: number;
  dropped: number;
}

/** Routes events to sinks and delivers them in batches. */
export class LogDispatcher {
  readonly #runners: Runner[];
  #closed = false;

  private constructor(runners: Runner[]) {
    this.#runners = runners;
  }

  /** Creates every sink of the config. */
  static async create(config: GatewayConfig): Promise<LogDispatcher> {
    const runners: Runner[] = [];
    for (const entry of config.sinks) {
      const factory = BUILT_IN_SINKS[entry.use];
      if (!factory) {
        throw new Error(
          `sink "${entry.use}" is not a built-in sink (${Object.keys(BUILT_IN_SINKS).join(", ")})`,
        );
      }
      runners.push({
        name: sinkInstanceName(entry.use, entry.name),
        plugin: entry.use,
        entry,
        on: new Set(entry.on ?? ["success", "failure"]),
        sink: await factory(entry, config),
        queue: [],
        sent: 0,
        dropped: 0,
      });
    }
    return new LogDispatcher(runners);
  }

  /** Names of the configured sink instances. */
  get sinkNames(): string[] {
    return this.#runners.map((r) => r.name);
  }

  /** Events delivered and dropped, per sink. */
  stats(): Record<string, { sent: number; dropped: number; queued: number }> {
    return Object.fromEntries(
      this.#runners.map((
        r,
      ) => [r.name, { sent: r.sent, dropped: r.dropped, queued: r.queue.length }]),
    );
  }

  /** The sinks an event goes to, given the call's controls. */
  route(event: LogEvent, controls: CallControls): string[] {
    return this.#select(event, controls).map((r) => r.name);
  }

  #select(event: LogEvent, controls: CallControls): Runner[] {
    if (event.call_type === "gateway_error") {
      return this.#runners.filter((r) => r.on.has("gateway_error") && r.name !== event.source);
    }
    return this.#runners.filter((r) => {
      if (!r.on.has(event.status)) return false;
      if (r.entry.required) return true;
      if (controls.noLog) return false;
      if (controls.sinks && !controls.sinks.includes(r.name)) return false;
      return !controls.disabledSinks.some((d) => d === r.name || d === r.plugin);
    });
  }

  /** Queues an event for its sinks. Never blocks, never throws. */
  emit(event: LogEvent, controls: CallControls): void {
    if (this.#closed) return;
    for (const runner of this.#select(event, controls)) {
      runner.queue.push(event);
      if (runner.queue.length >= runner.entry.queue.batch_size) this.#schedule(runner, 0);
      else if (runner.timer === undefined) {
        this.#schedule(runner, runner.entry.queue.flush_interval_ms);
      }
    }
  }

  #schedule(runner: Runner, delay: number): void {
    if (runner.sending || this.#closed) return; // close() drains what is left // the running send reschedules when it ends
    if (runner.timer !== undefined) {
      if (delay > 0) return;
      clearTimeout(runner.timer);
    }
    runner.timer = setTimeout(() => {
      runner.timer = undefined;
      runner.sending = this.#drain(runner).finally(() => {
        runner.sending = undefined;
        if (runner.queue.length > 0) this.#schedule(runner, runner.entry.queue.flush_interval_ms);
      });
    }, delay);
  }

  async #drain(runner: Runner): Promise<void> {
    while (runner.queue.length > 0) {
      const batch = runner.queue.slice(0, runner.entry.queue.batch_size);
      for (let attempt = 1;; attempt++) {
        try {
          await runner.sink.log(batch);
          runner.sent += batch.length;
          break;
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS) {
            runner.dropped += batch.length;
            console.error(
              `sluice: sink "${runner.name}" failed ${attempt} times; dropped ${batch.length} events: ${error}`,
            );
            break;
          }
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      runner.queue.splice(0, batch.length); // remove only after the send is settled
      if (!this.#closed && runner.queue.length < runner.entry.queue.batch_size) return;
    }
  }

  /** Delivers everything queued (bounded by `deadlineMs`) and closes the sinks. */
  async close(deadlineMs = 10_000): Promise<void> {
    this.#closed = true;
    const drainAll = Promise.all(this.#runners.map(async (r) => {
      if (r.timer !== undefined) clearTimeout(r.timer);
      r.timer = undefined;
      if (r.sending) await r.sending;
      r.sending = this.#drain(r);
      await r.sending;
      await r.sink.flush?.();
    }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), deadlineMs)));
    const outcome = await Promise.race([drainAll, deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      for (const r of this.#runners) {
        if (r.queue.length) {
          console.error(
            `sluice: sink "${r.name}" closed with ${r.queue.length} events undelivered`,
          );
        }
      }
    }
    for (const r of this.#runners) {
      try {
        await r.sink.close?.();
      } catch (error) {
        console.error(`sluice: sink "${r.name}" failed to close: ${error}`);
      }
    }
  }
}
