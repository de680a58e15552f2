/**
 * Redaction of ingested telemetry under one sink policy, with the same
 * masker as call events: every string an application put in a span or log
 * record (attribute values at any depth, span event and link attributes,
 * status messages, log bodies) is collected into one JSON array, has the
 * config's secrets scrubbed and goes through the masker in one pass, then is
 * written back. Content attributes (prompts, completions, tool arguments)
 * follow the policy's `input`/`output` rule: `remove` replaces them with the
 * removal marker. Resources, scopes, ids, names and times are left as sent.
 * @module
 */
import type { EffectivePolicy } from "../redaction/policy.ts";
import { REMOVED, scrubSecrets } from "../redaction/structural.ts";
import type { Masker } from "../pipeline/pipeline.ts";
import type { TelemetryBatch } from "../plugin.ts";
import type { AnyValue, KeyValue, LogRecord, Span } from "./types.ts";

/** Attributes that hold what the model was sent. */
const INPUT_KEYS =
  /^(gen_ai\.(input\.messages|system_instructions|prompt(\..*)?|tool\.call\.arguments)|llm\.(prompts|input_messages)(\..*)?|traceloop\.entity\.input|ai\.prompt(\..*)?|ai\.toolCall\.args|input\.value)$/;
/** Attributes that hold what the model answered. */
const OUTPUT_KEYS =
  /^(gen_ai\.(output\.messages|completion(\..*)?|tool\.call\.result)|llm\.(completions|output_messages)(\..*)?|traceloop\.entity\.output|ai\.response\.(text|toolCalls|object|reasoning)|ai\.toolCall\.result|output\.value)$/;

/** Which content rule an attribute falls under, if any. */
export function contentSide(key: string): "input" | "output" | undefined {
  if (INPUT_KEYS.test(key)) return "input";
  if (OUTPUT_KEYS.test(key)) return "output";
  return undefined;
}

/** A redacted copy of a batch, and how many of its strings redaction changed or removed. */
export interface RedactedTelemetry {
  /** The copy. */
  batch: TelemetryBatch;
  /** Strings masked, stripped or removed. */
  changed: number;
}

/** A string slot in the batch: read, then written back after masking. */
interface Slot {
  value: string;
  write(masked: string): void;
}

/** The slots of a batch, and how many values were removed outright. */
type Slots = Slot[] & { removed: number };

/** Collects the strings of one value; `removed` replaces the whole value instead. */
function collectValue(value: AnyValue | undefined, slots: Slots): void {
  if (!value) return;
  if (value.stringValue !== undefined) {
    slots.push({ value: value.stringValue, write: (m) => (value.stringValue = m) });
  } else if (value.bytesValue !== undefined) {
    const original = value.bytesValue;
    slots.push({
      value: original,
      write: (m) => {
        if (m === original) return;
        delete value.bytesValue; // stripped or masked: no longer base64 bytes
        value.stringValue = m;
      },
    });
  } else if (value.arrayValue) {
    for (const v of value.arrayValue.values ?? []) collectValue(v, slots);
  } else if (value.kvlistValue) {
    collectAttributes(value.kvlistValue.values, slots, undefined);
  }
}

function collectAttributes(
  attributes: KeyValue[] | undefined,
  slots: Slots,
  policy: EffectivePolicy | undefined,
): void {
  for (const kv of attributes ?? []) {
    const side = policy && kv.key ? contentSide(kv.key) : undefined;
    if (side && policy![side] === "remove") {
      kv.value = { stringValue: REMOVED };
      slots.removed++;
      continue;
    }
    collectValue(kv.value, slots);
  }
}

function collectSpan(span: Span, slots: Slots, policy: EffectivePolicy): void {
  collectAttributes(span.attributes, slots, policy);
  for (const event of span.events ?? []) collectAttributes(event.attributes, slots, policy);
  for (const link of span.links ?? []) collectAttributes(link.attributes, slots, policy);
  const status = span.status;
  if (status?.message) slots.push({ value: status.message, write: (m) => (status.message = m) });
}

/** Whether a log record is a GenAI content event (its body holds messages). */
function isGenAiEvent(record: LogRecord): boolean {
  const name = record.eventName ??
    record.attributes?.find((a) => a.key === "event.name")?.value?.stringValue;
  return typeof name === "string" && name.startsWith("gen_ai.");
}

function collectLog(record: LogRecord, slots: Slots, policy: EffectivePolicy): void {
  collectAttributes(record.attributes, slots, policy);
  if (isGenAiEvent(record) && (policy.input === "remove" || policy.output === "remove")) {
    record.body = { stringValue: REMOVED };
    slots.removed++;
  } else collectValue(record.body, slots);
}

/**
 * A copy of `batch` redacted under `policy` (the batch itself is not
 * changed). Asynchronous only when the masker is (keyed pseudonyms).
 */
export function redactTelemetry(
  batch: TelemetryBatch,
  policy: EffectivePolicy,
  secrets: readonly string[],
  mask?: Masker,
): RedactedTelemetry | Promise<RedactedTelemetry> {
  const copy = structuredClone(batch);
  const slots = Object.assign([] as Slot[], { removed: 0 });
  if (copy.signal === "traces") {
    for (const rs of copy.request.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) collectSpan(span, slots, policy);
      }
    }
  } else {
    for (const rl of copy.request.resourceLogs ?? []) {
      for (const sl of rl.scopeLogs ?? []) {
        for (const record of sl.logRecords ?? []) collectLog(record, slots, policy);
      }
    }
  }
  if (slots.length === 0) return { batch: copy, changed: slots.removed };
  let json = JSON.stringify(slots.map((s) => s.value));
  if (secrets.length > 0) json = scrubSecrets(json, secrets);
  const writeBack = (masked: string): RedactedTelemetry => {
    const values = JSON.parse(masked) as string[];
    let changed = slots.removed;
    slots.forEach((slot, i) => {
      if (values[i] !== slot.value) changed++;
      slot.write(values[i]);
    });
    return { batch: copy, changed };
  };
  if (!mask || (policy.detectors.length === 0 && !policy.stripBase64)) return writeBack(json);
  const masked = mask(json, policy);
  return typeof masked === "string" ? writeBack(masked) : masked.then(writeBack);
}
