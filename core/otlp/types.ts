/**
 * The OTLP/JSON shape of traces and logs: what both a protobuf body and a JSON
 * body decode to. Trace and span ids are lowercase hex, 64-bit integers are
 * decimal strings, other bytes are base64, enums are numbers. Scalar fields
 * holding their default value (0, "", false) and empty lists are left out,
 * so equal data from either encoding compares equal.
 * @module
 */

/** A value of an attribute or a log body: exactly one member is set (none for an empty value). */
export interface AnyValue {
  /** A string. */
  stringValue?: string;
  /** A boolean. */
  boolValue?: boolean;
  /** A signed 64-bit integer, as a decimal string. */
  intValue?: string;
  /** A double; `"NaN"`, `"Infinity"` and `"-Infinity"` for the values JSON has no number for. */
  doubleValue?: number | string;
  /** A list of values. */
  arrayValue?: { values?: AnyValue[] };
  /** A list of key-value pairs. */
  kvlistValue?: { values?: KeyValue[] };
  /** Bytes, as base64. */
  bytesValue?: string;
}

/** One attribute. */
export interface KeyValue {
  /** The attribute's name. */
  key?: string;
  /** The attribute's value. */
  value?: AnyValue;
}

/** A reference from a resource to an entity (development in the OTLP spec). */
export interface EntityRef {
  /** The schema URL of the entity. */
  schemaUrl?: string;
  /** The entity type. */
  type?: string;
  /** The attribute keys that identify the entity. */
  idKeys?: string[];
  /** The attribute keys that describe the entity. */
  descriptionKeys?: string[];
}

/** The entity producing the telemetry (service, host, process). */
export interface Resource {
  /** The resource's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
  /** Entities this resource is made of. */
  entityRefs?: EntityRef[];
}

/** The library that produced the telemetry. */
export interface InstrumentationScope {
  /** The scope's name. */
  name?: string;
  /** The scope's version. */
  version?: string;
  /** The scope's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
}

/** An event in a span. */
export interface SpanEvent {
  /** When it happened, in nanoseconds since the epoch (decimal string). */
  timeUnixNano?: string;
  /** The event's name. */
  name?: string;
  /** The event's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
}

/** A link from a span to another span. */
export interface SpanLink {
  /** The linked trace id (32 hex digits). */
  traceId?: string;
  /** The linked span id (16 hex digits). */
  spanId?: string;
  /** The W3C trace state of the link. */
  traceState?: string;
  /** The link's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
  /** W3C trace flags and the remote-parent bits. */
  flags?: number;
}

/** A span's status: `code` 0 unset, 1 ok, 2 error. */
export interface Status {
  /** A developer-facing message. */
  message?: string;
  /** The status code. */
  code?: number;
}

/** One span. */
export interface Span {
  /** The trace id (32 hex digits). */
  traceId?: string;
  /** The span id (16 hex digits). */
  spanId?: string;
  /** The W3C trace state. */
  traceState?: string;
  /** The parent span id (16 hex digits), absent for a root span. */
  parentSpanId?: string;
  /** W3C trace flags and the remote-parent bits. */
  flags?: number;
  /** The span's name. */
  name?: string;
  /** The span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind?: number;
  /** The start, in nanoseconds since the epoch (decimal string). */
  startTimeUnixNano?: string;
  /** The end, in nanoseconds since the epoch (decimal string). */
  endTimeUnixNano?: string;
  /** The span's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
  /** The span's events. */
  events?: SpanEvent[];
  /** Events the sender dropped. */
  droppedEventsCount?: number;
  /** The span's links. */
  links?: SpanLink[];
  /** Links the sender dropped. */
  droppedLinksCount?: number;
  /** The span's status. */
  status?: Status;
}

/** The spans of one instrumentation scope. */
export interface ScopeSpans {
  /** The scope. */
  scope?: InstrumentationScope;
  /** Its spans. */
  spans?: Span[];
  /** The schema URL of the spans. */
  schemaUrl?: string;
}

/** The spans of one resource. */
export interface ResourceSpans {
  /** The resource. */
  resource?: Resource;
  /** Its spans by scope. */
  scopeSpans?: ScopeSpans[];
  /** The schema URL of the resource. */
  schemaUrl?: string;
}

/** The body of an OTLP trace export. */
export interface ExportTraceServiceRequest {
  /** The spans by resource. */
  resourceSpans?: ResourceSpans[];
}

/** One log record. */
export interface LogRecord {
  /** When the event happened, in nanoseconds since the epoch (decimal string). */
  timeUnixNano?: string;
  /** When it was observed, in nanoseconds since the epoch (decimal string). */
  observedTimeUnixNano?: string;
  /** The severity number (1–24). */
  severityNumber?: number;
  /** The severity as the source wrote it. */
  severityText?: string;
  /** The log body. */
  body?: AnyValue;
  /** The record's attributes. */
  attributes?: KeyValue[];
  /** Attributes the sender dropped. */
  droppedAttributesCount?: number;
  /** W3C trace flags. */
  flags?: number;
  /** The trace id of the span it was logged in (32 hex digits). */
  traceId?: string;
  /** The span id it was logged in (16 hex digits). */
  spanId?: string;
  /** The event's name, for a log record that is an event. */
  eventName?: string;
}

/** The log records of one instrumentation scope. */
export interface ScopeLogs {
  /** The scope. */
  scope?: InstrumentationScope;
  /** Its log records. */
  logRecords?: LogRecord[];
  /** The schema URL of the records. */
  schemaUrl?: string;
}

/** The log records of one resource. */
export interface ResourceLogs {
  /** The resource. */
  resource?: Resource;
  /** Its log records by scope. */
  scopeLogs?: ScopeLogs[];
  /** The schema URL of the resource. */
  schemaUrl?: string;
}

/** The body of an OTLP logs export. */
export interface ExportLogsServiceRequest {
  /** The log records by resource. */
  resourceLogs?: ResourceLogs[];
}
