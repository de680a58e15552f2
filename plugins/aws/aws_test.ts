import assert from "node:assert/strict";
import fc from "fast-check";
import {
  classifyAwsFailure,
  fitEvent,
  parseAwsError,
  resolveAwsTarget,
  utf8Length,
} from "./mod.ts";
import { sampleEvent } from "@sluice/core/testing";

Deno.test("fitEvent: whatever the content, the result fits and keeps the ids", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 3000 }),
      fc.integer({ min: 1, max: 40 }),
      (text, times) => {
        const event = sampleEvent({ messages: [{ role: "user", content: text.repeat(times) }] });
        const fitted = fitEvent(event, 4096);
        assert.ok(fitted.bytes <= 4096 && utf8Length(fitted.json) === fitted.bytes);
        assert.equal(fitted.event.request_id, event.request_id);
        assert.equal(fitted.event.call_id, event.call_id);
        if (fitted.change === "none") assert.deepEqual(fitted.event, event);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("errors: the code wherever AWS puts it, and what it means", () => {
  const headers = new Headers({
    "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
  });
  assert.equal(
    parseAwsError(headers, '{"__type":"com.amazonaws.sqs#QueueDoesNotExist"}').code,
    "AWS.SimpleQueueService.NonExistentQueue",
  );
  assert.equal(
    parseAwsError(new Headers({ "x-amzn-errortype": "ThrottlingException:http://x" }), "").code,
    "ThrottlingException",
  );
  assert.equal(classifyAwsFailure({ status: 403 }, "SignatureDoesNotMatch").kind, "keep");
  assert.equal(
    classifyAwsFailure({ status: 400 }, "ProvisionedThroughputExceededException").kind,
    "retry",
  );
  assert.deepEqual(
    classifyAwsFailure({ status: 400 }, "Missing", { missing: new Set(["Missing"]) }),
    {
      kind: "keep",
      status: 400,
      reason: "url",
    },
  );
  assert.equal(
    classifyAwsFailure({ status: 400 }, "Bad", { malformed: new Set(["Bad"]) }).kind,
    "permanent",
  );
  assert.equal(classifyAwsFailure({ status: 503 }).kind, "retry");
});

Deno.test("resolveAwsTarget: config, then the region hint, then the environment; no credentials is an error", () => {
  const options = {
    plugin: "x",
    endpointEnv: "AWS_ENDPOINT_URL_X",
    defaultEndpoint: (r: string) => `https://x.${r}.amazonaws.com`,
    what: "table t",
  };
  const env: Record<string, string> = {
    AWS_REGION_NAME: "ap-south-1",
    AWS_ACCESS_KEY_ID: "AKID",
    AWS_SECRET_ACCESS_KEY: "s3cret-value",
  };
  const target = resolveAwsTarget({}, (n) => env[n], options);
  assert.equal(target.region, "ap-south-1");
  assert.equal(target.shownEndpoint, "https://x.ap-south-1.amazonaws.com");
  assert.equal(
    resolveAwsTarget({}, (n) => env[n], { ...options, regionHint: "eu-west-3" }).region,
    "eu-west-3",
  );
  env.AWS_ENDPOINT_URL = "http://user:pw@127.0.0.1:1/p?q=1";
  assert.equal(resolveAwsTarget({}, (n) => env[n], options).shownEndpoint, "http://127.0.0.1:1/p");
  assert.throws(
    () => resolveAwsTarget({}, () => undefined, options),
    /x: no credentials for table t/,
  );
});
