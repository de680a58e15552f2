/**
 * The baseline for load tests: a bare `Deno.serve` + `fetch` proxy that
 * forwards method, headers and body to the upstream and returns its status,
 * headers and body stream. Nothing else.
 *
 * Usage: `deno run -A bench/bare_proxy.ts --port 4102 --upstream http://127.0.0.1:4101`
 * @module
 */
import { parseArgs } from "node:util";

/** Starts the proxy on 127.0.0.1:`port`, forwarding to the `upstream` origin. */
export function startBareProxy(port: number, upstream: string): Deno.HttpServer<Deno.NetAddr> {
  const origin = upstream.replace(/\/+$/, "");
  const onListen = ({ port }: Deno.NetAddr) =>
    console.error(`bare proxy on http://127.0.0.1:${port} -> ${origin}`);
  return Deno.serve({ hostname: "127.0.0.1", port, onListen }, async (req) => {
    const url = new URL(req.url);
    const res = await fetch(origin + url.pathname + url.search, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string" }, upstream: { type: "string" } },
  });
  startBareProxy(Number(values.port ?? 4102), values.upstream ?? "http://127.0.0.1:4101");
}
