/**
 * The dynamodb sink through a whole gateway against moto's DynamoDB (a
 * subprocess with IAM checks on), read back with the official AWS SDK:
 * one item per call under its call id; an event over DynamoDB's item limit
 * is shortened, not refused; a wrong secret is refused with a clear error
 * that holds no credential, and the events are written once it is fixed;
 * an outage loses nothing; a LiteLLM config as LiteLLM documents it runs
 * unchanged.
 */
import assert from "node:assert/strict";
import { stringify } from "npm:yaml@2.9.1";
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from "npm:@aws-sdk/client-dynamodb@3.1178.0";
import { createDynamodbSink } from "@sluice/dynamodb";
import { createTestContext, sampleEvent } from "@sluice/core/testing";
import { checkConfigFile } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";
import { type Moto, skipWithoutMoto, startMoto } from "./fakes/moto.ts";
import { startToggleProxy } from "./fakes/toggle_proxy.ts";
import { startUpstream } from "./fakes/upstream.ts";

const MASTER_KEY = "sk-master-key-ddb-0001";

/** Captures the gateway's log lines (console.error / console.warn). */
function captureLogs() {
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  console.warn = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  return {
    lines,
    restore() {
      console.error = error;
      console.warn = warn;
    },
  };
}

function sdk(moto: Moto): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
  });
}

async function createTable(client: DynamoDBClient, name: string): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return name;
}

/** Every item of the table once it holds `n`. */
async function scanAll(client: DynamoDBClient, table: string, n: number) {
  let items: Record<string, Record<string, unknown>>[] = [];
  await until(
    async () => {
      items = [];
      let start: Record<string, never> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
        );
        items.push(...(page.Items ?? []) as unknown as typeof items);
        start = page.LastEvaluatedKey as typeof start;
      } while (start);
      return items.length >= n;
    },
    60_000,
    `${n} items`,
  );
  assert.equal(items.length, n, "one item per call");
  return items;
}

const sink = (moto: Moto, table: string, extra: Record<string, unknown> = {}) => ({
  use: "dynamodb",
  queue: { batch_size: 40, flush_interval_ms: 10 },
  config: {
    table_name: table,
    endpoint_url: moto.endpoint,
    access_key_id: moto.accessKeyId,
    secret_access_key: moto.secretAccessKey,
    ...extra,
  },
});

const idsOf = (items: Record<string, Record<string, unknown>>[]) =>
  items.map((item) => item.id.S as string).sort();

Deno.test({
  name: "dynamodb against moto: items, a wrong secret, an outage, a LiteLLM config",
  ignore: await skipWithoutMoto("dynamodb_gateway_test"),
  async fn(t) {
    const moto = await startMoto();
    const client = sdk(moto);
    try {
      await t.step(
        "one item per call under its call id, fields typed, read back with the SDK",
        async () => {
          const table = await createTable(client, "calls");
          const gw = await startGateway({
            models: [{ name: "mock-gpt", provider: "mock" }],
            sinks: [sink(moto, table)],
          });
          const ids = Array.from({ length: 31 }, (_, i) => `ddb-call-${i}`);
          try {
            const statuses = await sendCalls(gw.url, ids, 8);
            assert.deepEqual([...new Set(statuses.values())], [200]);
          } finally {
            await gw.close();
          }
          const items = await scanAll(client, table, ids.length);
          assert.deepEqual(idsOf(items), [...ids].sort());
          for (const item of items) {
            assert.deepEqual(item.model_group, { S: "mock-gpt" });
            assert.equal(typeof (item.total_tokens as { N: string }).N, "string");
            assert.ok("M" in item.metadata);
          }
        },
      );

      await t.step(
        "an event over DynamoDB's 400 KB item limit is shortened, not refused",
        async () => {
          const table = await createTable(client, "large");
          const ctx = createTestContext();
          const sinkOf = createDynamodbSink(sink(moto, table).config, ctx);
          const big = sampleEvent({
            call_id: "big",
            response: { role: "assistant", content: "a word ".repeat(90_000) },
          });
          await sinkOf.log([big, sampleEvent({ call_id: "small" })]);
          const items = await scanAll(client, table, 2);
          const stored = items.find((i) => (i.id as { S: string }).S === "big")!;
          assert.match(JSON.stringify(stored.response), /…\[truncated \d+ chars\]/);
        },
      );

      await t.step(
        "a wrong secret is refused clearly, without the secret; fixed, the items arrive",
        async () => {
          const table = await createTable(client, "denied");
          const dataDir = await Deno.makeTempDir();
          const wrong = `${moto.secretAccessKey.slice(0, -4)}XXXX`;
          const logs = captureLogs();
          const ids = Array.from({ length: 12 }, (_, i) => `ddb-denied-${i}`);
          try {
            const gw = await startGateway({
              server: { data_dir: dataDir },
              models: [{ name: "mock-gpt", provider: "mock" }],
              sinks: [sink(moto, table, { secret_access_key: wrong })],
            });
            try {
              await sendCalls(gw.url, ids, 4);
              await until(
                () => logs.lines.some((l) => l.includes("SignatureDoesNotMatch")),
                30_000,
                "the refusal",
              );
            } finally {
              await gw.close();
            }
            const about = logs.lines.filter((l) => l.includes("SignatureDoesNotMatch"));
            assert.equal(about.length, 1, about.join("\n"));
            assert.match(
              about[0],
              /delivery failed \(will retry; events kept\): dynamodb: table "denied"/,
            );
            for (const part of [moto.accessKeyId, "check secret_access_key", moto.endpoint]) {
              assert.ok(about[0].includes(part), `${part} not in: ${about[0]}`);
            }
            const all = logs.lines.join("\n");
            for (const secret of [wrong, moto.secretAccessKey]) {
              assert.ok(!all.includes(secret), "a secret was logged");
            }
            const fixed = await startGateway({
              server: { data_dir: dataDir },
              models: [{ name: "mock-gpt", provider: "mock" }],
              sinks: [sink(moto, table)],
            });
            try {
              assert.deepEqual(idsOf(await scanAll(client, table, ids.length)), [...ids].sort());
            } finally {
              await fixed.close();
            }
          } finally {
            logs.restore();
            await Deno.remove(dataDir, { recursive: true });
          }
        },
      );

      await t.step(
        "DynamoDB down while calls flow: every item is there once it is back",
        async () => {
          const table = await createTable(client, "outage");
          const proxy = startToggleProxy(Number(new URL(moto.endpoint).port));
          const logs = captureLogs();
          const gw = await startGateway({
            models: [{ name: "mock-gpt", provider: "mock" }],
            sinks: [sink(moto, table, { endpoint_url: proxy.url, timeout_ms: 2000 })],
          });
          const ids = Array.from({ length: 60 }, (_, i) => `ddb-down-${i}`);
          try {
            const first = await sendCalls(gw.url, ids.slice(0, 20), 8);
            proxy.down();
            const second = await sendCalls(gw.url, ids.slice(20), 8);
            assert.deepEqual([...new Set([...first.values(), ...second.values()])], [200]);
            await until(
              () => logs.lines.some((l) => /sink "dynamodb": delivery failed \(will retry/.test(l)),
              30_000,
              "a failed delivery while DynamoDB is down",
            );
            proxy.up();
            assert.deepEqual(idsOf(await scanAll(client, table, ids.length)), [...ids].sort());
          } finally {
            await gw.close();
            logs.restore();
            proxy.close();
          }
        },
      );

      await t.step(
        "a LiteLLM config with success_callback dynamodb as LiteLLM's docs give it runs unchanged",
        async () => {
          const table = await createTable(client, "litellm");
          const upstream = startUpstream();
          const dir = await Deno.makeTempDir();
          try {
            await Deno.writeTextFile(
              `${dir}/config.yaml`,
              stringify({
                model_list: [{
                  model_name: "gpt-4o",
                  litellm_params: {
                    model: "openai/gpt-4o",
                    api_base: upstream.url,
                    api_key: "sk-up",
                  },
                }],
                general_settings: { master_key: MASTER_KEY },
                environment_variables: {
                  AWS_ACCESS_KEY_ID: moto.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
                  AWS_REGION_NAME: "us-east-1",
                  AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
                },
                litellm_settings: { success_callback: ["dynamodb"], dynamodb_table_name: table },
              }),
            );
            const check = await checkConfigFile(`${dir}/config.yaml`);
            assert.ok(check.config, JSON.stringify(check.problems));
            assert.deepEqual(check.problems, [], "no warning, nothing unsupported");
            assert.deepEqual(check.config.sinks.map((s) => [s.name, s.use, s.on]), [[
              "dynamodb",
              "dynamodb",
              ["success"],
            ]]);
            const gw = await startGateway({
              ...check.config,
              server: { ...check.config.server, data_dir: `${dir}/data` },
              sinks: check.config.sinks.map((s) => ({ ...s, queue: { flush_interval_ms: 10 } })),
            });
            try {
              const res = await fetch(`${gw.url}/v1/chat/completions`, {
                method: "POST",
                headers: {
                  authorization: `Bearer ${MASTER_KEY}`,
                  "content-type": "application/json",
                },
                body: JSON.stringify({
                  model: "gpt-4o",
                  messages: [{ role: "user", content: "hi" }],
                }),
              });
              assert.equal(res.status, 200, await res.text());
            } finally {
              await gw.close();
            }
            const [item] = await scanAll(client, table, 1);
            assert.deepEqual(item.model_group, { S: "gpt-4o" });
          } finally {
            await upstream.close();
            await Deno.remove(dir, { recursive: true });
          }
        },
      );
    } finally {
      client.destroy();
      await moto.close();
    }
  },
});
