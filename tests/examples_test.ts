/**
 * The example configs under examples/ stay valid: each loads with the
 * environment variables it names, and with no errors.
 */
import assert from "node:assert/strict";
import { checkConfigFile } from "../core/mod.ts";

const env: Record<string, string> = {
  SLUICE_MASTER_KEY: "sk-example-master-0001",
  OPENAI_API_KEY: "sk-example-openai-0002",
  AZURE_API_KEY: "example-azure-0003",
  ANTHROPIC_API_KEY: "sk-ant-example-0004",
  RESEARCH_APP_KEY: "sk-example-research-0005",
  SLUICE_PSEUDONYM_SECRET: "example-pseudonym-0006",
  LITELLM_MASTER_KEY: "sk-example-litellm-0007",
};

for (const name of ["minimal.yaml", "gateway.yaml", "observability.yaml", "litellm_config.yaml"]) {
  Deno.test(`examples/${name} is a valid config`, async () => {
    const path = new URL(`../examples/${name}`, import.meta.url).pathname;
    const { config, problems } = await checkConfigFile(path, { env: (n) => env[n] });
    assert.deepEqual(problems.filter((p) => p.severity === "error"), []);
    assert.ok(config);
    assert.ok(config.models.length > 0);
  });
}
