/**
 * TLS with a private CA and client certificates: a CA, a server
 * certificate for 127.0.0.1 and a client certificate are made with openssl
 * in a temp dir; an OTLP/HTTP receiver over HTTPS (Deno.serve) and an
 * OTLP/gRPC receiver that requires a client certificate (grpc-js, mTLS)
 * get the otel sink's exports only when it trusts the CA (`certificate`,
 * `OTEL_EXPORTER_OTLP_CERTIFICATE`) and, over gRPC, presents the client
 * certificate (`OTEL_EXPORTER_OTLP_CLIENT_KEY` / `_CLIENT_CERTIFICATE`).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Server, ServerCredentials } from "npm:@grpc/grpc-js@1.14.7";
import otelPlugin, { createOtelSink } from "../plugins/otel/mod.ts";
import { createTestContext, resolvePermissions, sampleEvents } from "../core/testing.ts";

/** Runs openssl with `args` in `dir`; throws with its stderr when it fails. */
async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in a temp dir. */
async function makeCertificates(): Promise<{ dir: string; path: (name: string) => string }> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-tls-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Sluice test CA",
  );
  for (
    const [name, usage, san] of [
      ["server", "serverAuth", "subjectAltName=IP:127.0.0.1"],
      ["client", "clientAuth", "subjectAltName=DNS:sluice-client"],
    ]
  ) {
    await openssl(
      dir,
      "req",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      `${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n`,
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  }
  return { dir, path: (name) => `${dir}/${name}` };
}

Deno.test("OTLP/HTTP over TLS with a private CA: exported when the sink trusts the CA, refused otherwise", async () => {
  const certs = await makeCertificates();
  let received = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(certs.path("server.pem")),
    key: await Deno.readTextFile(certs.path("server.key")),
    onListen() {},
  }, async (req) => {
    await req.arrayBuffer();
    received++;
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  const endpoint = `https://127.0.0.1:${server.addr.port}`;
  try {
    const trusting = createOtelSink(
      { endpoint, certificate: certs.path("ca.pem") },
      createTestContext(),
    );
    await trusting.log(sampleEvents(2));
    await trusting.close?.();
    assert.equal(received, 1);

    const untrusting = createOtelSink({ endpoint, timeout_ms: 3000 }, createTestContext());
    await assert.rejects(
      async () => await untrusting.log(sampleEvents(1)),
      (error: Error & { permanent?: boolean }) => {
        assert.notEqual(error.permanent, true, "kept for a retry");
        return true;
      },
    );
    await untrusting.close?.();
    assert.equal(received, 1, "nothing reached the receiver without the CA");

    // the files are what a sandboxed sink may read
    assert.deepEqual(
      resolvePermissions(otelPlugin, { endpoint, certificate: certs.path("ca.pem") }).read,
      [certs.path("ca.pem")],
    );
  } finally {
    await server.shutdown();
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("OTLP/gRPC with mTLS from the OTEL_EXPORTER_OTLP_* TLS variables; no client certificate, no export", async () => {
  const certs = await makeCertificates();
  const read = (name: string) => Deno.readFileSync(certs.path(name));
  let received = 0;
  const server = new Server();
  const bytes = (b: Buffer) => b;
  server.addService({
    export: {
      path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      requestStream: false,
      responseStream: false,
      requestSerialize: bytes,
      requestDeserialize: bytes,
      responseSerialize: bytes,
      responseDeserialize: bytes,
    },
  }, {
    export: (_call: unknown, done: (error: null, value: Buffer) => void) => {
      received++;
      done(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      ServerCredentials.createSsl(
        Buffer.from(read("ca.pem")),
        [{
          private_key: Buffer.from(read("server.key")),
          cert_chain: Buffer.from(read("server.pem")),
        }],
        true, // a client certificate signed by the CA is required
      ),
      (error, port) => error ? reject(error) : resolve(port),
    )
  );
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_EXPORTER_OTLP_CERTIFICATE: certs.path("ca.pem"),
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: certs.path("client.key"),
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: certs.path("client.pem"),
  };
  const ctxWith = (vars: Record<string, string>) =>
    createTestContext({ env: vars, permissions: otelPlugin.permissions });
  try {
    const mutual = createOtelSink({ timeout_ms: 5000 }, ctxWith(env));
    await mutual.log(sampleEvents(3));
    await mutual.close?.();
    assert.equal(received, 1);
    assert.deepEqual(
      resolvePermissions(otelPlugin, {}, env).read?.sort(),
      [certs.path("ca.pem"), certs.path("client.key"), certs.path("client.pem")].sort(),
    );

    const {
      OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: _,
      OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: __,
      ...caOnly
    } = env;
    const anonymous = createOtelSink({ timeout_ms: 3000 }, ctxWith(caOnly));
    await assert.rejects(async () => await anonymous.log(sampleEvents(1)));
    await anonymous.close?.();
    assert.equal(received, 1, "no export without the client certificate");

    assert.throws(
      () =>
        createOtelSink(
          { timeout_ms: 3000 },
          ctxWith({ ...caOnly, OTEL_EXPORTER_OTLP_CLIENT_KEY: certs.path("client.key") }),
        ),
      /a client key needs its client certificate/,
    );
  } finally {
    server.forceShutdown();
    await Deno.remove(certs.dir, { recursive: true });
  }
});
