/**
 * Chat calls (model `mock-gpt`) sent in a loop, recording when each answered
 * call finished: for tests and benchmarks that kill the gateway mid-traffic.
 * @module
 */

/** Running traffic: finish times of answered calls, and a way to stop it. */
export interface Traffic {
  /** Call id → when its answer was fully read (epoch ms). */
  finished: Map<string, number>;
  /** Stops sending and waits for the calls in flight. */
  stop(): Promise<void>;
}

/** Chat calls sent in a loop until `stop()`, each answered call's finish time recorded. */
export function traffic(url: string, prefix: string, concurrency = 8): Traffic {
  const finished = new Map<string, number>();
  let running = true;
  let n = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      const id = `${prefix}-${n++}`;
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sluice-call-id": id },
          body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: id }] }),
        });
        await res.arrayBuffer();
        if (res.status === 200) finished.set(id, Date.now());
      } catch {
        // the gateway was killed mid-call: this call never finished
      }
    }
  });
  return {
    finished,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}
