/**
 * The OTLP messages Sluice ingests, as a protobufjs reflection descriptor
 * written from the field numbers of the public opentelemetry-proto spec
 * (`opentelemetry/proto/{common,resource,trace,logs,collector}/v1/*.proto`),
 * and `google.rpc.Status` (code 1, message 2; details left out) for error bodies.
 * Field names are the lowerCamelCase names of the OTLP/JSON encoding, so a
 * decoded message and a JSON body name their fields alike. Enums are declared
 * as `int32`: OTLP/JSON writes enums as integers, and unknown values pass
 * through unchanged.
 * @module
 */
import protobuf from "protobufjs";

type Fields = Record<string, { type: string; id: number; rule?: "repeated" }>;

function f(type: string, id: number, repeated = false): Fields[string] {
  return repeated ? { type, id, rule: "repeated" } : { type, id };
}

const descriptor = {
  nested: {
    otlp: {
      nested: {
        AnyValue: {
          oneofs: {
            value: {
              oneof: [
                "stringValue",
                "boolValue",
                "intValue",
                "doubleValue",
                "arrayValue",
                "kvlistValue",
                "bytesValue",
              ],
            },
          },
          fields: {
            stringValue: f("string", 1),
            boolValue: f("bool", 2),
            intValue: f("int64", 3),
            doubleValue: f("double", 4),
            arrayValue: f("ArrayValue", 5),
            kvlistValue: f("KeyValueList", 6),
            bytesValue: f("bytes", 7),
          },
        },
        ArrayValue: { fields: { values: f("AnyValue", 1, true) } },
        KeyValueList: { fields: { values: f("KeyValue", 1, true) } },
        KeyValue: { fields: { key: f("string", 1), value: f("AnyValue", 2) } },
        InstrumentationScope: {
          fields: {
            name: f("string", 1),
            version: f("string", 2),
            attributes: f("KeyValue", 3, true),
            droppedAttributesCount: f("uint32", 4),
          },
        },
        EntityRef: {
          fields: {
            schemaUrl: f("string", 1),
            type: f("string", 2),
            idKeys: f("string", 3, true),
            descriptionKeys: f("string", 4, true),
          },
        },
        Resource: {
          fields: {
            attributes: f("KeyValue", 1, true),
            droppedAttributesCount: f("uint32", 2),
            entityRefs: f("EntityRef", 3, true),
          },
        },
        ResourceSpans: {
          fields: {
            resource: f("Resource", 1),
            scopeSpans: f("ScopeSpans", 2, true),
            schemaUrl: f("string", 3),
          },
        },
        ScopeSpans: {
          fields: {
            scope: f("InstrumentationScope", 1),
            spans: f("Span", 2, true),
            schemaUrl: f("string", 3),
          },
        },
        Span: {
          fields: {
            traceId: f("bytes", 1),
            spanId: f("bytes", 2),
            traceState: f("string", 3),
            parentSpanId: f("bytes", 4),
            flags: f("fixed32", 16),
            name: f("string", 5),
            kind: f("int32", 6),
            startTimeUnixNano: f("fixed64", 7),
            endTimeUnixNano: f("fixed64", 8),
            attributes: f("KeyValue", 9, true),
            droppedAttributesCount: f("uint32", 10),
            events: f("SpanEvent", 11, true),
            droppedEventsCount: f("uint32", 12),
            links: f("SpanLink", 13, true),
            droppedLinksCount: f("uint32", 14),
            status: f("Status", 15),
          },
        },
        SpanEvent: {
          fields: {
            timeUnixNano: f("fixed64", 1),
            name: f("string", 2),
            attributes: f("KeyValue", 3, true),
            droppedAttributesCount: f("uint32", 4),
          },
        },
        SpanLink: {
          fields: {
            traceId: f("bytes", 1),
            spanId: f("bytes", 2),
            traceState: f("string", 3),
            attributes: f("KeyValue", 4, true),
            droppedAttributesCount: f("uint32", 5),
            flags: f("fixed32", 6),
          },
        },
        Status: { fields: { message: f("string", 2), code: f("int32", 3) } },
        ResourceLogs: {
          fields: {
            resource: f("Resource", 1),
            scopeLogs: f("ScopeLogs", 2, true),
            schemaUrl: f("string", 3),
          },
        },
        ScopeLogs: {
          fields: {
            scope: f("InstrumentationScope", 1),
            logRecords: f("LogRecord", 2, true),
            schemaUrl: f("string", 3),
          },
        },
        LogRecord: {
          fields: {
            timeUnixNano: f("fixed64", 1),
            observedTimeUnixNano: f("fixed64", 11),
            severityNumber: f("int32", 2),
            severityText: f("string", 3),
            body: f("AnyValue", 5),
            attributes: f("KeyValue", 6, true),
            droppedAttributesCount: f("uint32", 7),
            flags: f("fixed32", 8),
            traceId: f("bytes", 9),
            spanId: f("bytes", 10),
            eventName: f("string", 12),
          },
        },
        ExportTraceServiceRequest: { fields: { resourceSpans: f("ResourceSpans", 1, true) } },
        ExportTraceServiceResponse: {
          fields: { partialSuccess: f("ExportTracePartialSuccess", 1) },
        },
        ExportTracePartialSuccess: {
          fields: { rejectedSpans: f("int64", 1), errorMessage: f("string", 2) },
        },
        ExportLogsServiceRequest: { fields: { resourceLogs: f("ResourceLogs", 1, true) } },
        ExportLogsServiceResponse: {
          fields: { partialSuccess: f("ExportLogsPartialSuccess", 1) },
        },
        RpcStatus: { fields: { code: f("int32", 1), message: f("string", 2) } },
        ExportLogsPartialSuccess: {
          fields: { rejectedLogRecords: f("int64", 1), errorMessage: f("string", 2) },
        },
      },
    },
  },
};

/** The protobufjs root holding every OTLP message above, under the `otlp` namespace. */
export const root: protobuf.Root = protobuf.Root.fromJSON(descriptor);
root.resolveAll();

/** A message type of the descriptor by its name (e.g. `"Span"`). */
export function messageType(name: string): protobuf.Type {
  return root.lookupType(`otlp.${name}`);
}

/** Bytes fields written as lowercase hex in OTLP/JSON (every other bytes field is base64). */
export const HEX_FIELDS: ReadonlySet<string> = new Set(["traceId", "spanId", "parentSpanId"]);

/** The protobuf wire type each scalar field type is encoded with. */
export const WIRE_TYPE: Readonly<Record<string, number>> = {
  int32: 0,
  int64: 0,
  uint32: 0,
  uint64: 0,
  sint32: 0,
  sint64: 0,
  bool: 0,
  enum: 0,
  fixed64: 1,
  sfixed64: 1,
  double: 1,
  string: 2,
  bytes: 2,
  fixed32: 5,
  sfixed32: 5,
  float: 5,
};

/** The 64-bit integer field types, written as decimal strings in OTLP/JSON. */
export const LONG_TYPES: ReadonlySet<string> = new Set([
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
]);
