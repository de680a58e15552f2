import assert from "node:assert/strict";
import { escapeControls, pluginLogger } from "./context.ts";

Deno.test("a plugin's log message with newlines cannot forge a gateway log line", () => {
  const lines: string[] = [];
  const logger = pluginLogger("webhook", (_level, text) => lines.push(text));
  logger.warn('retrying\nsluice: sink "audit": delivering again\r\x1b[2K');
  assert.equal(lines.length, 1);
  assert.ok(![..."\n\r\x1b"].some((c) => lines[0].includes(c)), lines[0]);
  assert.equal(
    lines[0],
    'sink "webhook": retrying\\nsluice: sink "audit": delivering again\\r\\u001b[2K',
  );
  assert.equal(escapeControls("plain text"), "plain text");
});
