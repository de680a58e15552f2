/**
 * Test support (not published): a loopback MLflow tracking server on
 * 127.0.0.1 with the parts the mlflow sink uses. It checks the
 * credentials (basic auth or a bearer token; 401 without or with wrong
 * ones, as `mlflow server --app-name basic-auth` answers), serves
 * `GET /api/2.0/mlflow/experiments/get-by-name` and `POST
 * /api/2.0/mlflow/experiments/create`, and takes `POST /v1/traces` as
 * MLflow 3.6+ does: protobuf only, `x-mlflow-experiment-id` naming an
 * existing experiment, decoded with the official opentelemetry-proto
 * definitions and validated against
 * `tests/fixtures/schemas/mlflow-otlp.schema.json` (see `mlflow.SOURCE.md`),
 * each JSON attribute parsed and checked. Spans are stored per trace
 * (`tr-<trace id hex>`, a span sent again replaces itself) and each
 * trace's info is derived from its root span. Used by this package's tests
 * and `tests/mlflow_gateway_test.ts`.
 * @module
 */
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import * as generatedRoot from "npm:@opentelemetry/otlp-transformer@0.216.0/build/src/generated/root.js";

// deno-lint-ignore no-explicit-any
type Json = any;

// deno-lint-ignore no-explicit-any
const root: any = (generatedRoot as any).default ?? generatedRoot;
const ExportRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

const schema = JSON.parse(
  Deno.readTextFileSync(
    new URL("../../tests/fixtures/schemas/mlflow-otlp.schema.json", import.meta.url),
  ),
);
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(schema);
const validator = (def: string) => ajv.getSchema(`${schema.$id}#/$defs/${def}`)!;
const validateRequest = validator("ExportTraceServiceRequest");
const validateSpanType = validator("SpanType");
const validateTokenUsage = validator("TokenUsage");
const validateCost = validator("LlmCost");
const validateCreate = validator("CreateExperiment");

const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);
const hex = (base64: string) =>
  Array.from(atob(base64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
function idsAsHex(value: Json): Json {
  if (Array.isArray(value)) return value.map(idsAsHex);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      ID_FIELDS.has(k) && typeof v === "string" ? hex(v) : idsAsHex(v),
    ]),
  );
}

/** Decodes an OTLP protobuf trace export request (64-bit ints as strings, ids as hex). */
export function decodeTraces(bytes: Uint8Array): Json {
  const message = ExportRequest.decode(bytes);
  const problem = ExportRequest.verify(message);
  if (problem) throw new Error(`invalid trace export request: ${problem}`);
  return idsAsHex(ExportRequest.toObject(message, { longs: String, bytes: String, enums: Number }));
}

/** A span as stored: its fields, attributes as sent (strings) and as MLflow reads them (JSON-decoded). */
export interface StoredSpan {
  /** The span as decoded. */
  span: Json;
  /** Attribute values as sent. */
  raw: Record<string, string>;
  /** Attribute values as MLflow reads them (JSON-decoded when they parse). */
  attributes: Record<string, unknown>;
}

/** A trace's info, derived from its root span as MLflow derives it. */
export interface StoredTraceInfo {
  /** `tr-<trace id hex>`. */
  trace_id: string;
  /** The experiment from the request's header. */
  experiment_id: string;
  /** The root span's start, epoch ms. */
  request_time: number;
  /** End minus start, ms. */
  execution_duration_ms: number;
  /** `OK` or `ERROR` (`IN_PROGRESS` without a root span). */
  state: "OK" | "ERROR" | "IN_PROGRESS";
  /** The root span's inputs, at most 1,000 characters. */
  request_preview?: string;
  /** The root span's outputs, at most 1,000 characters. */
  response_preview?: string;
  /** `mlflow.trace.tokenUsage`, `mlflow.trace.user`, `mlflow.trace.session`. */
  trace_metadata: Record<string, string>;
  /** `mlflow.traceName` and the `mlflow.traceTag.<key>` attributes. */
  tags: Record<string, string>;
}

/** A trace as stored. */
export interface StoredTrace {
  /** Its info. */
  info: StoredTraceInfo;
  /** Its spans by span id. */
  spans: Map<string, StoredSpan>;
}

/** A running loopback MLflow server. */
export interface MlflowReceiver {
  /** `http://127.0.0.1:<port>`: a sink's `endpoint_url` (`MLFLOW_TRACKING_URI`). */
  url: string;
  /** Its port. */
  port: number;
  /** Every request: method, path, headers, status answered. */
  requests: { method: string; path: string; headers: Headers; status: number }[];
  /** Everything wrong with what was sent; empty when all was right. */
  problems: string[];
  /** Experiments: name → id (`Default` → `0`). */
  experiments: Map<string, string>;
  /** Traces by MLflow trace id (`tr-…`). */
  traces: Map<string, StoredTrace>;
  /** Stops it. */
  close(): Promise<void>;
}

/** Options of {@link startMlflowReceiver}. */
export interface MlflowReceiverOptions {
  /** Credentials it accepts: a bearer token, or a user and password (default: none needed). */
  auth?: { token: string } | { username: string; password: string };
  /** Experiments that exist besides `Default` (`0`): name → id. */
  experiments?: Record<string, string>;
  /** `file`: a backend store that logs no spans (501 on `/v1/traces`). Default `sql`. */
  backend?: "sql" | "file";
  /** The port (default: any free one). */
  port?: number;
  /** Overrides the status of the n-th request (1-based) when it returns a number. */
  answer?: (n: number, path: string) => number | undefined;
}

const PREVIEW_MAX = 1000;
const preview = (value: string | undefined) =>
  value === undefined
    ? undefined
    : value.length > PREVIEW_MAX
    ? `${value.slice(0, PREVIEW_MAX - 3)}...`
    : value;

function anyValue(value: Json): string | number | boolean | undefined {
  if (!value) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("boolValue" in value) return value.boolValue;
  return undefined;
}

const parsed = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** Starts a loopback MLflow tracking server. */
export function startMlflowReceiver(options: MlflowReceiverOptions = {}): MlflowReceiver {
  const requests: MlflowReceiver["requests"] = [];
  const problems: string[] = [];
  const experiments = new Map<string, string>([["Default", "0"]]);
  for (const [name, id] of Object.entries(options.experiments ?? {})) experiments.set(name, id);
  const traces = new Map<string, StoredTrace>();
  const auth = options.auth;
  const expected = !auth
    ? undefined
    : "token" in auth
    ? `Bearer ${auth.token}`
    : `Basic ${btoa(`${auth.username}:${auth.password}`)}`;
  const mlflowError = (status: number, error_code: string, message: string) =>
    Response.json({ error_code, message }, { status });

  const logSpans = (experimentId: string, request: Json) => {
    for (const rs of request.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const raw: Record<string, string> = {};
          const attributes: Record<string, unknown> = {};
          for (const { key, value } of span.attributes ?? []) {
            const v = anyValue(value);
            if (key in raw) problems.push(`attribute ${key} sent twice`);
            raw[key] = String(v);
            attributes[key] = key.startsWith("mlflow.traceTag.") ? v : parsed(v);
          }
          for (const key of ["mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs"]) {
            if (key in raw && parsed(raw[key]) === raw[key]) {
              problems.push(`${key} is not a JSON string: ${raw[key].slice(0, 80)}`);
            }
          }
          if (!validateSpanType(attributes["mlflow.spanType"])) {
            problems.push(`mlflow.spanType ${raw["mlflow.spanType"]}`);
          }
          if (
            "mlflow.chat.tokenUsage" in attributes &&
            !validateTokenUsage(attributes["mlflow.chat.tokenUsage"])
          ) problems.push(`mlflow.chat.tokenUsage: ${ajv.errorsText(validateTokenUsage.errors)}`);
          if ("mlflow.llm.cost" in attributes && !validateCost(attributes["mlflow.llm.cost"])) {
            problems.push(`mlflow.llm.cost: ${ajv.errorsText(validateCost.errors)}`);
          }
          const traceId = `tr-${span.traceId}`;
          const trace: StoredTrace = traces.get(traceId) ?? {
            info: {
              trace_id: traceId,
              experiment_id: experimentId,
              request_time: 0,
              execution_duration_ms: 0,
              state: "IN_PROGRESS",
              trace_metadata: {},
              tags: {},
            },
            spans: new Map(),
          };
          trace.spans.set(span.spanId, { span, raw, attributes });
          traces.set(traceId, trace);
          if (span.parentSpanId) continue;
          // The root span: the trace's info.
          const start = Number(BigInt(span.startTimeUnixNano) / 1_000_000n);
          const end = Number(BigInt(span.endTimeUnixNano) / 1_000_000n);
          const info = trace.info;
          info.experiment_id = experimentId;
          info.request_time = start;
          info.execution_duration_ms = end - start;
          info.state = span.status?.code === 2 ? "ERROR" : "OK";
          info.request_preview = preview(raw["mlflow.spanInputs"]);
          info.response_preview = preview(raw["mlflow.spanOutputs"]);
          info.tags["mlflow.traceName"] = span.name;
          for (const [key, value] of Object.entries(raw)) {
            if (key.startsWith("mlflow.traceTag.")) {
              info.tags[key.slice("mlflow.traceTag.".length)] = value;
            }
          }
          if (raw["mlflow.chat.tokenUsage"]) {
            info.trace_metadata["mlflow.trace.tokenUsage"] = raw["mlflow.chat.tokenUsage"];
          }
          if (raw["user.id"]) info.trace_metadata["mlflow.trace.user"] = raw["user.id"];
          if (raw["session.id"]) info.trace_metadata["mlflow.trace.session"] = raw["session.id"];
        }
      }
    }
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const path = url.pathname;
      const body = new Uint8Array(await req.arrayBuffer());
      const record = (status: number) =>
        requests.push({ method: req.method, path, headers: req.headers, status });
      const forced = options.answer?.(requests.length + 1, path);
      if (forced !== undefined) {
        record(forced);
        return Response.json({ detail: `answer ${forced}` }, { status: forced });
      }
      if (expected && req.headers.get("authorization") !== expected) {
        record(401);
        return new Response(
          "You are not authenticated. Please see the documentation on how to authenticate.",
          { status: 401, headers: { "www-authenticate": 'Basic realm="mlflow"' } },
        );
      }
      if (req.method === "GET" && path === "/api/2.0/mlflow/experiments/get-by-name") {
        const name = url.searchParams.get("experiment_name") ?? "";
        const id = experiments.get(name);
        record(id === undefined ? 404 : 200);
        if (id === undefined) {
          return mlflowError(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            `Could not find experiment with name '${name}'`,
          );
        }
        return Response.json({
          experiment: {
            experiment_id: id,
            name,
            artifact_location: `mlflow-artifacts:/${id}`,
            lifecycle_stage: "active",
          },
        });
      }
      if (req.method === "POST" && path === "/api/2.0/mlflow/experiments/create") {
        let input: Json;
        try {
          input = JSON.parse(new TextDecoder().decode(body));
        } catch (error) {
          problems.push(`create: unparseable body: ${error}`);
        }
        if (!validateCreate(input)) {
          problems.push(`create: ${ajv.errorsText(validateCreate.errors)}`);
          record(400);
          return mlflowError(400, "INVALID_PARAMETER_VALUE", "bad request");
        }
        if (experiments.has(input.name)) {
          record(400);
          return mlflowError(
            400,
            "RESOURCE_ALREADY_EXISTS",
            `Experiment '${input.name}' already exists.`,
          );
        }
        const id = String(Math.max(...[...experiments.values()].map(Number)) + 1);
        experiments.set(input.name, id);
        record(200);
        return Response.json({ experiment_id: id });
      }
      if (req.method === "POST" && path === "/v1/traces") {
        if (req.headers.get("content-type") !== "application/x-protobuf") {
          problems.push(`content-type ${req.headers.get("content-type")}`);
          record(400);
          return Response.json({ detail: "Invalid Content-Type" }, { status: 400 });
        }
        const experimentId = req.headers.get("x-mlflow-experiment-id");
        if (!experimentId) {
          problems.push("no x-mlflow-experiment-id header");
          record(422);
          return Response.json({ detail: "x-mlflow-experiment-id: field required" }, {
            status: 422,
          });
        }
        if (options.backend === "file") {
          record(501);
          return Response.json({
            detail: "REST OTLP span logging is not supported by FileStore",
          }, { status: 501 });
        }
        if (![...experiments.values()].includes(experimentId)) {
          record(422);
          return Response.json({
            detail:
              `Failed to log OpenTelemetry spans: No Experiment with id=${experimentId} exists`,
          }, { status: 422 });
        }
        let request: Json;
        try {
          request = decodeTraces(body);
        } catch (error) {
          problems.push(String(error));
          record(400);
          return Response.json({ detail: "Invalid OpenTelemetry protobuf format" }, {
            status: 400,
          });
        }
        if (!validateRequest(request)) {
          problems.push(ajv.errorsText(validateRequest.errors));
          record(400);
          return Response.json({ detail: "no spans found" }, { status: 400 });
        }
        logSpans(experimentId, request);
        record(200);
        return new Response(ExportResponse.encode(ExportResponse.create({})).finish(), {
          headers: { "content-type": "application/x-protobuf" },
        });
      }
      record(404);
      return Response.json({ detail: "Not Found" }, { status: 404 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    problems,
    experiments,
    traces,
    close: () => server.shutdown(),
  };
}
