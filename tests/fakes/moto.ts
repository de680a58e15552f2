/**
 * moto's server mode (`moto_server`, Python) as a subprocess on a random
 * loopback port, with its IAM checks on: requests must carry a SigV4
 * signature made with an access key moto issued, whose user's policy
 * allows the action. `startMoto` creates that user and key through moto's
 * IAM API in the three actions it lets through unauthenticated
 * (`INITIAL_NO_AUTH_ACTION_COUNT=3`); from then on a wrong secret is
 * refused (`SignatureDoesNotMatch`), as AWS does.
 * @module
 */
import { AwsClient } from "npm:aws4fetch@1.0.20";
import { until } from "../../core/testing.ts";

/** A running moto server and the credentials it accepts. */
export interface Moto {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** An access key id moto issued (its user may do `sqs:*` and `dynamodb:*`). */
  accessKeyId: string;
  /** Its secret. */
  secretAccessKey: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Why moto cannot run here (the message of a failing test in CI, where it
 * must), or undefined when `moto_server` is on the PATH.
 */
export async function motoUnavailable(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("moto_server", {
      args: ["--help"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? undefined : "moto_server --help failed";
  } catch (error) {
    return `moto_server is not installed (${
      error instanceof Error ? error.message : error
    }): pip install "moto[server]"`;
  }
}

/**
 * Whether a test that needs moto runs: in CI a missing moto is a failure
 * (the test runs and fails with the reason), elsewhere the test is ignored
 * and the reason printed once.
 */
export async function skipWithoutMoto(file: string): Promise<boolean> {
  const missing = await motoUnavailable();
  if (!missing) return false;
  if (Deno.env.get("CI")) return false;
  console.warn(`${file}: does not run: ${missing}`);
  return true;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts moto_server with IAM checks on and a user with an access key. */
export async function startMoto(): Promise<Moto> {
  const missing = await motoUnavailable();
  if (missing) throw new Error(`moto is required here (CI is set): ${missing}`);
  const port = freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = new Deno.Command("moto_server", {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    env: { INITIAL_NO_AUTH_ACTION_COUNT: "3" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  try {
    await until(
      async () => {
        try {
          const res = await fetch(`${endpoint}/moto-api/data.json`);
          await res.body?.cancel();
          return res.ok;
        } catch {
          return false;
        }
      },
      30_000,
      "moto_server to listen",
    );
    // The three unauthenticated actions: a user, its policy, its key.
    const boot = new AwsClient({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "bootstrap",
      region: "us-east-1",
      service: "iam",
    });
    const iam = async (params: Record<string, string>) => {
      const res = await boot.fetch(`${endpoint}/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ Version: "2010-05-08", ...params }).toString(),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`moto IAM ${params.Action}: ${res.status} ${text}`);
      return text;
    };
    await iam({ Action: "CreateUser", UserName: "sluice" });
    await iam({
      Action: "PutUserPolicy",
      UserName: "sluice",
      PolicyName: "logs",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["sqs:*", "dynamodb:*"], Resource: "*" }],
      }),
    });
    const key = await iam({ Action: "CreateAccessKey", UserName: "sluice" });
    const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(key)?.[1] ?? "";
    return {
      endpoint,
      accessKeyId: field("AccessKeyId"),
      secretAccessKey: field("SecretAccessKey"),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
