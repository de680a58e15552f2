/**
 * Issue #21's finish line: one LiteLLM config.yaml with
 * `callbacks: ["gcs_bucket", "gcs_pubsub", "azure_storage", "aws_sqs"]` and
 * `success_callback: ["dynamodb"]`, with the variables LiteLLM's docs name,
 * starts with no "unsupported" warning and delivers each call to all five:
 * a loopback Google stand-in (JWTs verified with the account's public key)
 * for Cloud Storage and Pub/Sub, Azurite for Blob Storage (Shared Key
 * checked), and moto with IAM checks on for SQS and DynamoDB, read back
 * with the official SDKs.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "npm:@aws-sdk/client-sqs@3.1175.0";
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from "npm:@aws-sdk/client-dynamodb@3.1178.0";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { until } from "./fakes/outage.ts";
import { skipWithoutMoto, startMoto } from "./fakes/moto.ts";
import { startGoogleFake } from "../plugins/gcs/test_support.ts";
import { startAzurite } from "../plugins/azure/test_support.ts";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "@sluice/azure";

Deno.test({
  name:
    "litellm docs: gcs_bucket, gcs_pubsub, azure_storage, aws_sqs and dynamodb in one config deliver each call to all five, with no warning",
  ignore: await skipWithoutMoto("litellm_storage_sinks_test"),
  async fn() {
    const moto = await startMoto();
    const google = await startGoogleFake();
    const azurite = await startAzurite();
    const upstream = startUpstream();
    const dir = await Deno.makeTempDir();
    const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
    const sqs = new SQSClient({ endpoint: moto.endpoint, region: "us-east-1", credentials });
    const dynamodb = new DynamoDBClient({
      endpoint: moto.endpoint,
      region: "us-east-1",
      credentials,
    });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "litellm-logs" }));
      await dynamodb.send(
        new CreateTableCommand({
          TableName: "litellm-logs",
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      await azurite.createContainer("litellm-logs");
      const keyFile = await google.writeKeyFile();
      const raw = {
        model_list: [{
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-0021" },
        }],
        general_settings: { master_key: "sk-1234" },
        litellm_settings: {
          callbacks: ["gcs_bucket", "gcs_pubsub", "azure_storage", "aws_sqs"],
          success_callback: ["dynamodb"],
          dynamodb_table_name: "litellm-logs",
          aws_sqs_callback_params: { sqs_queue_url: QueueUrl, sqs_region_name: "us-east-1" },
        },
        environment_variables: {
          GCS_BUCKET_NAME: "litellm-logs",
          GCS_PATH_SERVICE_ACCOUNT: keyFile,
          GCS_PUBSUB_PROJECT_ID: "sluice-test",
          GCS_PUBSUB_TOPIC_ID: "litellm-spend",
          AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT_NAME,
          AZURE_STORAGE_ACCOUNT_KEY: AZURITE_ACCOUNT_KEY,
          AZURE_STORAGE_FILE_SYSTEM: "litellm-logs",
          // Loopback stand-ins for the clouds' endpoints, through the ecosystems' own variables.
          AZURE_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
          AWS_ACCESS_KEY_ID: moto.accessKeyId,
          AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
          AWS_REGION_NAME: "us-east-1",
          AWS_ENDPOINT_URL_SQS: moto.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
        },
      };
      const check = await checkConfig(raw, { env: () => undefined, baseDir: dir });
      assert.deepEqual(check.problems, [], "no unsupported callback or setting");
      await Deno.writeTextFile(`${dir}/config.yaml`, stringify(raw));
      const config = await loadConfig(`${dir}/config.yaml`);
      assert.deepEqual(config.sinks.map((s) => s.use).sort(), [
        "azure-blob",
        "dynamodb",
        "gcs",
        "gcs-pubsub",
        "sqs",
      ]);
      const gw = await startGateway({
        ...config,
        server: { ...config.server, data_dir: `${dir}/data` },
        sinks: config.sinks.map((sink) => ({
          ...sink,
          queue: { ...sink.queue, flush_interval_ms: 10 },
          // Google's endpoints have no variable in LiteLLM's docs: the stand-in's, as in the gcs tests.
          ...(sink.use === "gcs" || sink.use === "gcs-pubsub"
            ? { config: { ...sink.config, endpoint_url: google.url } }
            : {}),
        })),
      });
      const calls = ["what is the capital of France?", "and of Spain?", "and of Italy?"];
      try {
        const client = new OpenAI({ apiKey: "sk-1234", baseURL: `${gw.url}/v1`, maxRetries: 0 });
        for (const content of calls) {
          await client.chat.completions.create({
            model: "gpt-4o",
            messages: [{ role: "user", content }],
          });
        }
      } finally {
        await gw.close(); // flushes every sink
      }
      const ids = (bodies: string[]) => bodies.map((b) => JSON.parse(b).request_id).sort();
      const gcs = ids([...google.objects.values()].map((o) => o.body));
      assert.equal(gcs.length, calls.length);
      assert.deepEqual(ids(google.messages.map((m) => m.data)), gcs, "pubsub");
      assert.deepEqual(
        ids([...(await azurite.blobs("litellm-logs")).values()].map((b) => b.body)),
        gcs,
        "azure",
      );
      const messages: string[] = [];
      await until(
        async () => {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
          );
          messages.push(...Messages.map((m) => m.Body!));
          return messages.length >= calls.length;
        },
        30_000,
        "the SQS messages",
      );
      assert.deepEqual(ids(messages), gcs, "sqs");
      const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: "litellm-logs" }));
      assert.equal(Items.length, calls.length, "dynamodb");
      assert.deepEqual(google.refusals, []);
    } finally {
      sqs.destroy();
      dynamodb.destroy();
      await upstream.close();
      await azurite.close();
      await google.close();
      await moto.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
