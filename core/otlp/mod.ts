/**
 * OTLP/HTTP export bodies for the gateway's OTLP ingest: read a request's
 * body within limits ({@link readTracesBody}, {@link readLogsBody}), decode
 * protobuf and JSON to one OTLP/JSON shape, and encode the export responses.
 *
 * @example Decoding a JSON export and answering it
 * ```ts
 * import { countSpans, encodeTracesResponse, parseTracesJson } from "./mod.ts";
 *
 * const decoded = parseTracesJson(JSON.stringify({
 *   resourceSpans: [{
 *     scopeSpans: [{
 *       spans: [{
 *         traceId: "5B8EFFF798038103D269B633813FC60C",
 *         spanId: "EEE19B7EC3C1B174",
 *         name: "chat",
 *         startTimeUnixNano: 1544712660000000000,
 *       }],
 *     }],
 *   }],
 * }));
 * if (!decoded.ok) throw new Error(decoded.error);
 * const span = decoded.value.resourceSpans![0].scopeSpans![0].spans![0];
 * if (span.traceId !== "5b8efff798038103d269b633813fc60c") throw new Error("ids are lowercase hex");
 * if (span.startTimeUnixNano !== "1544712660000000000") throw new Error("64-bit ints are strings");
 * if (countSpans(decoded.value) !== 1) throw new Error("one span");
 * const body = encodeTracesResponse({ rejected: 0 }, "json");
 * if (new TextDecoder().decode(body) !== "{}") throw new Error("full success is an empty message");
 * ```
 * @module
 */
export * from "./proto.ts";
export * from "./body.ts";
export { GATEWAY_CALL_ATTRIBUTE, telemetryEvents } from "./genai.ts";
