/**
 * A webhook receiver whose behaviour a test switches at will: accept,
 * answer 503 or 400, or hang. It records every call id it accepted.
 * @module
 */

/** How the receiver answers a delivery. */
export type ReceiverMode = "ok" | "503" | "400" | "hang";

/** A running receiver. */
export interface Receiver {
  /** Its port. */
  port: number;
  /** URL to configure as the webhook's `url`. */
  url: string;
  /** Accepted deliveries per call id. */
  seen: Map<string, number>;
  /** Every accepted event. */
  events: Record<string, unknown>[];
  /** Deliveries received (any outcome). */
  posts(): number;
  /** Switches how it answers. */
  setMode(mode: ReceiverMode): void;
  /** Stops it (connections are refused afterwards). */
  close(): Promise<void>;
}

/** Starts a receiver on `port` (0: a random one) answering in `mode`. */
export function startReceiver(mode: ReceiverMode = "ok", port = 0): Receiver {
  const seen = new Map<string, number>();
  const events: Record<string, unknown>[] = [];
  let posts = 0;
  const hung = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    posts++;
    const body = await req.json() as Record<string, unknown>[];
    if (mode === "503") return new Response("down for maintenance", { status: 503 });
    if (mode === "400") return new Response("bad batch", { status: 400 });
    if (mode === "hang") {
      await new Promise<void>((resolve) => hung.add(resolve));
      return new Response("late", { status: 503 });
    }
    for (const e of body) {
      const id = String(e.call_id);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      events.push(e);
    }
    return new Response(null, { status: 204 });
  });
  return {
    port: server.addr.port,
    url: `http://127.0.0.1:${server.addr.port}/events`,
    seen,
    events,
    posts: () => posts,
    setMode(m) {
      mode = m;
      if (m !== "hang") { for (const release of hung) release(); }
    },
    async close() {
      for (const release of hung) release();
      await server.shutdown();
    },
  };
}
