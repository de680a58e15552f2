/**
 * One gateway per data dir: two gateways on one spool would interleave their
 * segments and release each other's events, so the second is refused.
 */
import assert from "node:assert/strict";
import { createGateway, type GatewayConfigInput } from "../core/mod.ts";
import { WalInUseError, WriteAheadLog } from "../core/pipeline/wal.ts";

Deno.test("wal: a second log on an open directory is refused, and allowed once the first closes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await WriteAheadLog.open(dir, 1 << 20);
    await assert.rejects(() => WriteAheadLog.open(dir, 1 << 20), WalInUseError);
    await first.close();
    const second = await WriteAheadLog.open(dir, 1 << 20);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wal: a second gateway on the same data_dir fails to start, naming the directory and the key", async () => {
  const dir = await Deno.makeTempDir();
  const config: GatewayConfigInput & { sinks: NonNullable<GatewayConfigInput["sinks"]> } = {
    server: { data_dir: dir },
    models: [{ name: "m", provider: "mock" }],
    sinks: [
      { use: "jsonl", name: "a", config: { dir: `${dir}/out-a` } },
      { use: "jsonl", name: "b", config: { dir: `${dir}/out-b` } },
    ],
  };
  // The first holds only "b": the second opens "a", is refused "b", and must let "a" go.
  const first = await createGateway({ ...config, sinks: [config.sinks[1]] });
  try {
    const error = await createGateway(config).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof Error, "the second gateway must not start");
    assert.match(error.message, /in use by another gateway/);
    assert.match(error.message, /server\.data_dir/);
    assert.ok(error.message.includes(`${dir}/spool/b`), error.message);
  } finally {
    await first.close();
  }
  // The refused start released what it had opened: a third gateway starts.
  const third = await createGateway(config);
  await third.close();
  await Deno.remove(dir, { recursive: true });
});
