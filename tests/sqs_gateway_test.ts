/**
 * The sqs sink through a whole gateway against moto's SQS (a subprocess
 * with IAM checks on), read back with the official AWS SDK: every call
 * arrives once as LiteLLM's standard logging payload; a wrong secret is
 * refused with a clear error that holds no credential, and the events are
 * delivered once the secret is fixed; an outage loses nothing; a LiteLLM
 * config as LiteLLM documents it runs unchanged.
 */
import assert from "node:assert/strict";
import { stringify } from "npm:yaml@2.9.1";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "npm:@aws-sdk/client-sqs@3.1175.0";
import { checkConfigFile } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";
import { type Moto, skipWithoutMoto, startMoto } from "./fakes/moto.ts";
import { startToggleProxy } from "./fakes/toggle_proxy.ts";
import { startUpstream } from "./fakes/upstream.ts";

const MASTER_KEY = "sk-master-key-sqs-0001";

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

function sdk(moto: Moto): SQSClient {
  return new SQSClient({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
  });
}

async function createQueue(client: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  return QueueUrl!;
}

/** Every message in the queue (read with ReceiveMessage, 10 at a time) once `n` have arrived. */
async function receiveAll(client: SQSClient, queueUrl: string, n: number) {
  const bodies: Record<string, unknown>[] = [];
  await until(
    async () => {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      for (const m of Messages) bodies.push(JSON.parse(m.Body!));
      return bodies.length >= n;
    },
    60_000,
    `${n} messages`,
  );
  // Visible + in flight: the queue holds exactly what was read, no duplicates behind.
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
  );
  const total = Number(Attributes.ApproximateNumberOfMessages) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  assert.equal(total, n, "the queue holds one message per call");
  return bodies;
}

const sink = (moto: Moto, queueUrl: string, extra: Record<string, unknown> = {}) => ({
  use: "sqs",
  queue: { batch_size: 25, flush_interval_ms: 10 },
  config: {
    queue_url: queueUrl,
    endpoint_url: moto.endpoint,
    access_key_id: moto.accessKeyId,
    secret_access_key: moto.secretAccessKey,
    ...extra,
  },
});

Deno.test({
  name: "sqs against moto: delivery, a wrong secret, an outage, a LiteLLM config",
  ignore: await skipWithoutMoto("sqs_gateway_test"),
  async fn(t) {
    const moto = await startMoto();
    const client = sdk(moto);
    try {
      await t.step(
        "every call arrives once, as the standard payload, read back with the SDK",
        async () => {
          const queueUrl = await createQueue(client, "calls");
          const gw = await startGateway({
            models: [{ name: "mock-gpt", provider: "mock" }],
            sinks: [sink(moto, queueUrl)],
          });
          const ids = Array.from({ length: 23 }, (_, i) => `sqs-call-${i}`);
          try {
            const statuses = await sendCalls(gw.url, ids, 8);
            assert.equal(statuses.size, ids.length);
          } finally {
            await gw.close();
          }
          const bodies = await receiveAll(client, queueUrl, ids.length);
          assert.deepEqual(bodies.map((b) => b.call_id).sort(), [...ids].sort());
          for (const body of bodies) {
            assert.equal(body.schema_version, 1);
            assert.equal(body.model_group, "mock-gpt");
            assert.equal(
              typeof body.response_cost === "number" || body.response_cost === undefined,
              true,
            );
            assert.ok(!JSON.stringify(body).includes(moto.secretAccessKey));
          }
        },
      );

      await t.step(
        "a wrong secret is refused clearly, without the secret; fixed, the events arrive",
        async () => {
          const queueUrl = await createQueue(client, "denied");
          const dataDir = await Deno.makeTempDir();
          const wrong = `${moto.secretAccessKey.slice(0, -4)}XXXX`;
          const logs = captureLogs();
          const ids = Array.from({ length: 12 }, (_, i) => `sqs-denied-${i}`);
          try {
            const gw = await startGateway({
              server: { data_dir: dataDir },
              models: [{ name: "mock-gpt", provider: "mock" }],
              sinks: [sink(moto, queueUrl, { secret_access_key: wrong })],
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
            assert.match(about[0], /delivery failed \(will retry; events kept\): sqs: queue /);
            for (
              const part of [moto.accessKeyId, "403", "check secret_access_key", moto.endpoint]
            ) {
              assert.ok(about[0].includes(part), `${part} not in: ${about[0]}`);
            }
            const all = logs.lines.join("\n");
            for (const secret of [wrong, moto.secretAccessKey, MASTER_KEY]) {
              assert.ok(!all.includes(secret), "a secret was logged");
            }
            // The secret fixed: a gateway on the same data directory delivers what was kept.
            const fixed = await startGateway({
              server: { data_dir: dataDir },
              models: [{ name: "mock-gpt", provider: "mock" }],
              sinks: [sink(moto, queueUrl)],
            });
            try {
              const bodies = await receiveAll(client, queueUrl, ids.length);
              assert.deepEqual(bodies.map((b) => b.call_id).sort(), [...ids].sort());
            } finally {
              await fixed.close();
            }
          } finally {
            logs.restore();
            await Deno.remove(dataDir, { recursive: true });
          }
        },
      );

      await t.step("SQS down while calls flow: every call arrives once it is back", async () => {
        const queueUrl = await createQueue(client, "outage");
        const proxy = startToggleProxy(Number(new URL(moto.endpoint).port));
        const logs = captureLogs();
        const gw = await startGateway({
          models: [{ name: "mock-gpt", provider: "mock" }],
          sinks: [sink(moto, queueUrl, { endpoint_url: proxy.url, timeout_ms: 2000 })],
        });
        const ids = Array.from({ length: 60 }, (_, i) => `sqs-down-${i}`);
        try {
          const first = await sendCalls(gw.url, ids.slice(0, 20), 8);
          proxy.down();
          const second = await sendCalls(gw.url, ids.slice(20), 8);
          assert.deepEqual([...new Set([...first.values(), ...second.values()])], [200]);
          await until(
            () => logs.lines.some((l) => /sink "sqs": delivery failed \(will retry/.test(l)),
            30_000,
            "a failed delivery while SQS is down",
          );
          proxy.up();
          const bodies = await receiveAll(client, queueUrl, ids.length);
          assert.deepEqual(bodies.map((b) => b.call_id).sort(), [...ids].sort());
        } finally {
          await gw.close();
          logs.restore();
          proxy.close();
        }
      });

      await t.step(
        "a LiteLLM config with aws_sqs as LiteLLM's docs give it runs unchanged",
        async () => {
          const queueUrl = await createQueue(client, "litellm");
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
                  AWS_ENDPOINT_URL_SQS: moto.endpoint,
                },
                litellm_settings: {
                  callbacks: ["aws_sqs"],
                  aws_sqs_callback_params: {
                    sqs_queue_url: queueUrl,
                    sqs_region_name: "us-east-1",
                    sqs_strip_base64_files: false,
                    s3_use_team_prefix: false,
                    s3_use_key_prefix: false,
                  },
                },
              }),
            );
            const check = await checkConfigFile(`${dir}/config.yaml`);
            assert.ok(check.config, JSON.stringify(check.problems));
            assert.deepEqual(check.problems, [], "no warning, nothing unsupported");
            assert.deepEqual(check.config.sinks.map((s) => [s.name, s.use]), [["aws_sqs", "sqs"]]);
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
            const [body] = await receiveAll(client, queueUrl, 1);
            assert.equal(body.model_group, "gpt-4o");
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
