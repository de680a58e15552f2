/**
 * A loopback TCP proxy in front of a real service (an emulator) that a test
 * can take down and bring back on the same port: while down, connections
 * are refused and open ones are cut. It passes bytes through untouched, so
 * signed requests (SigV4, Shared Key sign the `Host` header) stay valid.
 * @module
 */

/** A proxy that can be taken down and brought back. */
export interface ToggleProxy {
  /** `http://127.0.0.1:<port>` (kept across {@link ToggleProxy.down} / {@link ToggleProxy.up}). */
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Refuses new connections and cuts open ones. */
  down(): void;
  /** Listens again on the same port. */
  up(): void;
  /** Stops it. */
  close(): void;
}

/** Starts a proxy to `port` on 127.0.0.1. */
export function startToggleProxy(targetPort: number): ToggleProxy {
  let listener: Deno.Listener | undefined;
  let port = 0;
  const open = new Set<Deno.Conn>();
  const proxy: ToggleProxy = {
    url: "",
    connections: 0,
    down() {
      listener?.close();
      listener = undefined;
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
      open.clear();
    },
    up() {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      listener = l;
      port = (l.addr as Deno.NetAddr).port;
      (async () => {
        for await (const client of l) {
          proxy.connections++;
          let upstream: Deno.Conn;
          try {
            upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
          } catch {
            client.close();
            continue;
          }
          open.add(client);
          open.add(upstream);
          const pipe = (from: Deno.Conn, to: Deno.Conn) =>
            from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
              for (const c of [from, to]) {
                open.delete(c);
                try {
                  c.close();
                } catch {
                  // closed already
                }
              }
            });
          pipe(client, upstream);
          pipe(upstream, client);
        }
      })().catch(() => {});
    },
    close() {
      proxy.down();
    },
  };
  proxy.up();
  proxy.url = `http://127.0.0.1:${port}`;
  return proxy;
}
