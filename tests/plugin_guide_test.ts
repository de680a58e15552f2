/**
 * The complete plugin in plugins/README.md is real: extract it, load it
 * through the gateway's loader, and run the conformance kit against it.
 */
import assert from "node:assert/strict";
import { assertConformance, checkHttpSinkConformance } from "../core/testing.ts";
import type { PluginDefinition } from "../core/plugin.ts";

Deno.test("the guide's complete plugin passes the HTTP sink conformance checks", async () => {
  const guide = await Deno.readTextFile(new URL("../plugins/README.md", import.meta.url));
  const code = /```ts\n(\/\/ my_sink\.ts\n[\s\S]*?)```/.exec(guide)?.[1];
  assert.ok(code, "the guide has a complete plugin");
  const file = await Deno.makeTempFile({
    dir: new URL(".", import.meta.url).pathname,
    suffix: ".ts",
  });
  try {
    await Deno.writeTextFile(file, code);
    const plugin = (await import(`file://${file}`)).default as PluginDefinition<
      { url: string; token?: string }
    >;
    const report = await checkHttpSinkConformance(plugin, {
      config: (url) => ({ url, token: "t" }),
      eventsIn: (req) =>
        JSON.parse(new TextDecoder().decode(req.body)).map((e: { id: string }) => e.id),
    });
    assertConformance(report);
  } finally {
    await Deno.remove(file);
  }
});
