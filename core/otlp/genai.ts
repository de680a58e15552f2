/**
 * GenAI spans an application exported: recognised by their attributes (the
 * OpenTelemetry GenAI semantic conventions, with the older `gen_ai.prompt.*`
 * and OpenLLMetry names, and the Vercel AI SDK's `ai.*` ones), priced from
 * their token counts, and turned into standard log events
 * (`source: "otlp"`) for the sinks that do not take OTLP.
 * @module
 */
import { builtInPrice, computeCost, type ModelPrice, priceOf } from "../cost/cost.ts";
import type { ModelConfig } from "../config/types.ts";
import type { CallType, LogEvent } from "../event/log_event.ts";
import type { ChatMessage } from "../event/content.ts";
import type { AnyValue, KeyValue, Resource, Span } from "./types.ts";
import type { TelemetryBatch } from "../plugin.ts";

/** What a GenAI span says about its call. */
export interface GenAiCall {
  /** `gen_ai.operation.name` (`chat`, `text_completion`, `embeddings`, …). */
  operation: string;
  /** The model answered with, else the one asked for. */
  model: string;
  /** The model asked for. */
  requestModel?: string;
  /** The provider, normalised (`openai`, `azure`, `anthropic`, `bedrock`, …). */
  provider?: string;
  /** Input tokens (cached ones included). */
  inputTokens: number;
  /** Output tokens. */
  outputTokens: number;
  /** Input tokens read from cache. */
  cacheReadTokens?: number;
  /** Input tokens written to cache. */
  cacheCreationTokens?: number;
}

/** A scalar attribute's value (strings, numbers, booleans), else undefined. */
export function scalarOf(value: AnyValue | undefined): string | number | boolean | undefined {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.boolValue !== undefined) return value.boolValue;
  return undefined;
}

/** The attributes as a map of their scalar values. */
export function attributeMap(attributes: KeyValue[] | undefined): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const kv of attributes ?? []) if (kv.key) map.set(kv.key, scalarOf(kv.value));
  return map;
}

function text(map: Map<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = map.get(key);
    if (typeof v === "string" && v !== "") return v;
  }
  return undefined;
}

function count(map: Map<string, unknown>, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const v = map.get(key);
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n === "number" && Number.isFinite(n) && n >= 0) return n;
  }
  return undefined;
}

/** Provider names as the conventions and SDKs spell them, to the gateway's. */
const PROVIDERS: [RegExp, string][] = [
  [/^(az\.ai\.openai|azure[._-]?openai|azure)/, "azure"],
  [/^(az\.ai\.inference)/, "azure_ai"],
  [/^(aws\.bedrock|bedrock|amazon-bedrock)/, "bedrock"],
  [/^(gcp\.vertex_ai|vertex)/, "vertex_ai"],
  [/^(gcp\.gemini|gcp\.gen_ai|google)/, "gemini"],
  [/^openai/, "openai"],
  [/^anthropic/, "anthropic"],
  [/^(mistral_ai|mistral)/, "mistral"],
  [/^(cohere|groq|deepseek|perplexity|ollama|xai|ibm\.watsonx\.ai)/, ""],
];

/** The provider in the gateway's words (`openai.chat` → `openai`, `az.ai.openai` → `azure`). */
export function normalProvider(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const name = raw.toLowerCase();
  for (const [pattern, provider] of PROVIDERS) {
    const m = pattern.exec(name);
    if (m) return provider || m[1].replace(/\..*$/, "");
  }
  return name.replace(/\..*$/, "");
}

/** Inference operations (`gen_ai.operation.name`) and the call type of their events. */
const CALL_TYPES: Record<string, CallType> = {
  chat: "chat",
  generate_content: "chat",
  text_completion: "completion",
  embeddings: "embedding",
};

/** The GenAI call a span describes, or undefined for any other span (agents, tools). */
export function genAiCallOf(attributes: Map<string, unknown>): GenAiCall | undefined {
  const requestModel = text(attributes, "gen_ai.request.model");
  const model = text(attributes, "gen_ai.response.model") ?? requestModel;
  const provider = text(attributes, "gen_ai.provider.name", "gen_ai.system");
  const operation = text(attributes, "gen_ai.operation.name");
  if (!model || (!provider && !operation)) return undefined;
  // Agent and tool spans name a model too; only inference spans are calls.
  if (operation !== undefined && !(operation in CALL_TYPES)) return undefined;
  const input = count(
    attributes,
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
  );
  const output = count(
    attributes,
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
  );
  return {
    operation: operation ?? "chat",
    model,
    requestModel,
    provider: normalProvider(provider ?? text(attributes, "ai.model.provider")),
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    cacheReadTokens: count(
      attributes,
      "gen_ai.usage.cache_read.input_tokens",
      "gen_ai.usage.cache_read_input_tokens",
    ),
    cacheCreationTokens: count(
      attributes,
      "gen_ai.usage.cache_creation.input_tokens",
      "gen_ai.usage.cache_creation_input_tokens",
    ),
  };
}

/** The cost of a GenAI call from the price table, if its model is priced. */
export function costOf(
  call: GenAiCall,
  priceOf: (model: string) => ModelPrice | undefined = builtInPrice,
): ReturnType<typeof computeCost> | undefined {
  const price = priceOf(call.model) ?? (call.requestModel ? priceOf(call.requestModel) : undefined);
  if (!price) return undefined;
  return computeCost(price, {
    prompt: call.inputTokens,
    completion: call.outputTokens,
    cacheRead: call.cacheReadTokens,
    cacheCreation: call.cacheCreationTokens,
  });
}

function doubleAttr(key: string, value: number): KeyValue {
  return { key, value: { doubleValue: value } };
}

/**
 * Adds `sluice.cost.usd` (and `sluice.cost.{input,output,cache_read,cache_creation}_usd`)
 * and `sluice.provider` to a GenAI span's attributes. Returns the call and
 * its cost, or undefined when the span is no GenAI call.
 */
export function enrichSpan(
  span: Span,
  priceOf?: (model: string) => ModelPrice | undefined,
): { call: GenAiCall; cost?: ReturnType<typeof computeCost> } | undefined {
  const call = genAiCallOf(attributeMap(span.attributes));
  if (!call) return undefined;
  const cost = costOf(call, priceOf);
  const added: KeyValue[] = [];
  if (call.provider) added.push({ key: "sluice.provider", value: { stringValue: call.provider } });
  if (cost) {
    added.push(
      doubleAttr("sluice.cost.usd", cost.total),
      doubleAttr("sluice.cost.input_usd", cost.breakdown.input),
      doubleAttr("sluice.cost.output_usd", cost.breakdown.output),
      doubleAttr("sluice.cost.cache_read_usd", cost.breakdown.cache_read),
      doubleAttr("sluice.cost.cache_creation_usd", cost.breakdown.cache_creation),
    );
  }
  const kept = (span.attributes ?? []).filter((kv) => !kv.key?.startsWith("sluice."));
  span.attributes = [...kept, ...added];
  return { call, cost };
}

/**
 * The attribute OTLP ingest sets on a GenAI span around a call that went
 * through the gateway: the gateway logged that call itself, so no event is
 * made from the span.
 */
export const GATEWAY_CALL_ATTRIBUTE = "sluice.gateway_call";

/** The cost a span's `sluice.cost.*` attributes carry (set by OTLP ingest), if any. */
function costAttributes(map: Map<string, unknown>): ReturnType<typeof computeCost> | undefined {
  const total = map.get("sluice.cost.usd");
  if (typeof total !== "number") return undefined;
  const part = (key: string) => {
    const v = map.get(`sluice.cost.${key}_usd`);
    return typeof v === "number" ? v : 0;
  };
  return {
    total,
    breakdown: {
      input: part("input"),
      output: part("output"),
      cache_read: part("cache_read"),
      cache_creation: part("cache_creation"),
    },
  };
}

/**
 * The standard events of a telemetry batch's GenAI inference spans, as the
 * gateway makes them for sinks without `exportTelemetry` (`source: "otlp"`,
 * cost from the spans' `sluice.cost.*`): for a sink that stores spans and
 * wants the calls among them too. Spans around calls the gateway logged
 * itself are left out. The caller is not known here (`metadata` holds the
 * service name as a tag only).
 *
 * @example
 * ```ts
 * import { telemetryEvents } from "@sluice/core/otlp";
 * import { sampleTelemetry } from "@sluice/core/testing";
 *
 * const [event] = telemetryEvents(sampleTelemetry());
 * console.log(event.source, event.model); // "otlp" "gpt-4o-mini"
 * ```
 */
export function telemetryEvents(batch: TelemetryBatch): LogEvent[] {
  if (batch.signal !== "traces") return [];
  const events: LogEvent[] = [];
  for (const rs of batch.request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const attributes = attributeMap(span.attributes);
        if (attributes.get(GATEWAY_CALL_ATTRIBUTE) === true) continue;
        const call = genAiCallOf(attributes);
        if (!call) continue;
        const cost = costAttributes(attributes);
        events.push(spanEvent(span, rs.resource, { call, cost }, { tags: [], request: {} }));
      }
    }
  }
  return events;
}

/** Nanoseconds since the epoch (decimal string) to milliseconds. */
function millis(nanos: string | undefined): number {
  if (!nanos) return 0;
  return Number(BigInt(nanos) / 1_000_000n);
}

/** A parsed JSON attribute, or undefined. */
function json(map: Map<string, unknown>, key: string): unknown {
  const raw = map.get(key);
  if (typeof raw !== "string") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Semantic-convention messages (`[{role, parts: [{type, content}]}]`) as chat messages. */
function semconvMessages(value: unknown): ChatMessage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((m: { role?: unknown; parts?: unknown; content?: unknown }) => {
    const parts = Array.isArray(m.parts) ? m.parts : [];
    const texts = parts
      .map((p: { type?: unknown; content?: unknown }) =>
        typeof p.content === "string" ? p.content : p.content === undefined ? "" : JSON.stringify(p)
      )
      .filter((t: string) => t !== "");
    const content = texts.length > 0
      ? texts.join("\n")
      : typeof m.content === "string"
      ? m.content
      : JSON.stringify(m.content ?? "");
    return { role: String(m.role ?? "user"), content } as ChatMessage;
  });
}

/** OpenLLMetry's indexed `gen_ai.prompt.N.role` / `.content` attributes as chat messages. */
function indexedMessages(map: Map<string, unknown>, prefix: string): ChatMessage[] | undefined {
  const out: ChatMessage[] = [];
  for (let i = 0; map.has(`${prefix}.${i}.content`) || map.has(`${prefix}.${i}.role`); i++) {
    out.push({
      role: String(map.get(`${prefix}.${i}.role`) ?? "user"),
      content: String(map.get(`${prefix}.${i}.content`) ?? ""),
    } as ChatMessage);
  }
  return out.length > 0 ? out : undefined;
}

function inputMessages(map: Map<string, unknown>): ChatMessage[] | undefined {
  const system = text(map, "gen_ai.system_instructions");
  const messages = semconvMessages(json(map, "gen_ai.input.messages")) ??
    indexedMessages(map, "gen_ai.prompt") ??
    (json(map, "ai.prompt.messages") as ChatMessage[] | undefined);
  if (!system) return messages;
  return [{ role: "system", content: system } as ChatMessage, ...(messages ?? [])];
}

function outputMessage(map: Map<string, unknown>): ChatMessage | undefined {
  const semconv = semconvMessages(json(map, "gen_ai.output.messages"));
  if (semconv?.length) return semconv[0];
  const indexed = indexedMessages(map, "gen_ai.completion");
  if (indexed?.length) return indexed[0];
  const textOut = text(map, "ai.response.text");
  return textOut === undefined ? undefined : { role: "assistant", content: textOut } as ChatMessage;
}

/**
 * The standard log event of a GenAI span (`source: "otlp"`): ids from the
 * span, times from its start and end, usage, cost and messages from its
 * attributes (redacted later per sink, like every event), failure when its
 * status is an error.
 */
export function spanEvent(
  span: Span,
  resource: Resource | undefined,
  genAi: { call: GenAiCall; cost?: ReturnType<typeof computeCost> },
  caller: LogEvent["metadata"],
): LogEvent {
  const attributes = attributeMap(span.attributes);
  const { call, cost } = genAi;
  const start = millis(span.startTimeUnixNano) || Date.now();
  const end = millis(span.endTimeUnixNano) || start;
  const failed = span.status?.code === 2;
  const id = `${span.traceId ?? ""}-${span.spanId ?? ""}`;
  const service = attributeMap(resource?.attributes).get("service.name");
  const output = outputMessage(attributes);
  const finish = json(attributes, "gen_ai.response.finish_reasons");
  const event: LogEvent = {
    schema_version: 1,
    request_id: id,
    call_id: id,
    id: text(attributes, "gen_ai.response.id") ?? id,
    trace_id: span.traceId ?? "",
    span_id: span.spanId ?? "",
    ...(span.parentSpanId ? { parent_span_id: span.parentSpanId } : {}),
    call_type: CALL_TYPES[call.operation] ?? "chat",
    stream: false,
    status: failed ? "failure" : "success",
    model: call.model,
    model_group: call.requestModel ?? call.model,
    provider: call.provider,
    start_time: start,
    end_time: end,
    response_time_ms: Math.max(0, end - start),
    prompt_tokens: call.inputTokens,
    completion_tokens: call.outputTokens,
    total_tokens: call.inputTokens + call.outputTokens,
    ...(call.cacheReadTokens !== undefined
      ? { cache_read_input_tokens: call.cacheReadTokens }
      : {}),
    ...(call.cacheCreationTokens !== undefined
      ? { cache_creation_input_tokens: call.cacheCreationTokens }
      : {}),
    ...(cost ? { response_cost: cost.total, cost_breakdown: cost.breakdown } : {}),
    metadata: {
      ...caller,
      tags: [...caller.tags, ...(typeof service === "string" ? [`service:${service}`] : [])],
    },
    source: "otlp",
  };
  const messages = inputMessages(attributes);
  if (messages) event.messages = messages;
  if (output) event.response = output;
  if (Array.isArray(finish)) event.finish_reasons = finish.map(String);
  if (failed) {
    event.error = {
      status: 0,
      code: text(attributes, "error.type") ?? "error",
      class: text(attributes, "error.type") ?? "SpanError",
      message: span.status?.message ?? "the span ended with an error status",
      ...(call.provider ? { provider: call.provider } : {}),
    };
  }
  return event;
}

/**
 * Prices by model name: a configured model (by public name or upstream id)
 * has its config's prices, any other the built-in table's.
 */
export function configuredPrice(
  models: readonly ModelConfig[],
): (model: string) => ModelPrice | undefined {
  return (model) => {
    const config = models.find((m) => m.name === model || m.model === model);
    return config ? priceOf(config, config.model ?? model) : builtInPrice(model);
  };
}
