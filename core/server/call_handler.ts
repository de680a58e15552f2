/**
 * One proxied call, from the request body to the response: authenticate,
 * read the body, route to an upstream, relay its answer (a stream as it
 * arrives), and hand the finished call to the log side. Every failure
 * becomes an OpenAI-shaped error through `responses.ts`.
 * @module
 */
import { configScrubber } from "../config/load.ts";
import type { GatewayConfig } from "../config/types.ts";
import { computeCost, type ModelPrice, priceOf } from "../cost/cost.ts";
import { GatewayError } from "../errors.ts";
import { randomUuid } from "../ids.ts";
import { GATEWAY_FIELDS } from "../log/build.ts";
import { type CallControls, readControls } from "../pipeline/controls.ts";
import { ClientClosedError, type ModelRouter, type RoutedResponse } from "../providers/router.ts";
import type { Deployment, ProxyCallType } from "../providers/types.ts";
import type { FinishedCallType } from "../log/call.ts";
import { isTranslated, translate, type Translation } from "./translated.ts";
import { RecentItems } from "../responses/items.ts";
import { ResponsesStream } from "../responses/stream.ts";
import { type NativeCall, nativeCall, speaksNatively } from "./native.ts";
import type { Usage } from "../stream/accumulator.ts";
import { relayStream } from "../stream/relay.ts";
import { promptTokens } from "../providers/mock.ts";
import { anthropicCountTokens } from "../providers/anthropic.ts";
import { VERSION } from "../version.ts";
import { keyAllowsModel, type KeyStore, type Principal } from "./auth.ts";
import { readJsonBody } from "./body.ts";
import type { CallRecord } from "./call_record.ts";
import { addLiteLLMHeaders } from "./litellm_headers.ts";
import {
  clientClosed,
  errorResponse,
  internalError,
  logEventError,
  passThroughError,
  respond,
  scrubbed,
  unknownModel,
} from "./responses.ts";
import { streamEndError, streamErrorBody } from "./stream_end.ts";
import { CALL_ID_PATTERN, formatTraceparent, traceContextOf } from "./trace.ts";
import { validateCallBody } from "./validate.ts";

/** What the call handler needs from the gateway around it. */
export interface CallHandlerDeps {
  /** The validated config. */
  config: GatewayConfig;
  /** Routes models to deployments. */
  router: ModelRouter;
  /** Authenticates callers. */
  keys: KeyStore;
  /** The models a caller may see. */
  allowedModels: (principal: Principal) => string[];
  /** Receives every call when it ends (the log hand-off). */
  finish: (record: CallRecord, controls: CallControls | undefined) => void;
  /** Counts a stream that stays open after its handler returned; `release` ends it. */
  hold: () => void;
  /** Ends what `hold` counted. */
  release: () => void;
}

/** A call in progress: its record, controls and timing. */
interface Call {
  record: CallRecord;
  controls?: CallControls;
  t0: number;
  upstreamMs: number;
  /** Set on the translated routes (Responses, Messages): how the chat answer goes back. */
  translation?: Translation;
  /** Set on a translated route whose upstream speaks its API: the native path. */
  native?: NativeCall;
}

/** What goes upstream: the call kind the provider sees and the body (bytes when unchanged). */
interface Upstream {
  model: string;
  callType: ProxyCallType;
  body: Record<string, unknown>;
  /** True when `body` is the client's own (its bytes may go as they are). */
  own: boolean;
}

/** Handles the proxied routes (chat, completions, embeddings). */
export class CallHandler {
  readonly #deps: CallHandlerDeps;
  readonly #prices = new WeakMap<Deployment, ModelPrice | undefined>();
  readonly #teams: Map<string, GatewayConfig["teams"][number]>;
  /** Output items of recent translated Responses answers, for `item_reference` inputs. */
  readonly #items = new RecentItems();

  /** A handler over the gateway's router, keys and log hand-off. */
  constructor(deps: CallHandlerDeps) {
    this.#deps = deps;
    this.#teams = new Map(deps.config.teams.map((t) => [t.name, t]));
  }

  /** One call: never throws; the response is an answer, a stream or an error. */
  async handle(
    req: Request,
    info: Deno.ServeHandlerInfo | undefined,
    callType: FinishedCallType,
  ): Promise<Response> {
    const call: Call = {
      record: this.#newRecord(req, info, callType),
      t0: performance.now(),
      upstreamMs: 0,
    };
    try {
      return await this.#proxy(req, call);
    } catch (error) {
      return this.#failed(error, call);
    }
  }

  #newRecord(
    req: Request,
    info: Deno.ServeHandlerInfo | undefined,
    callType: FinishedCallType,
  ): CallRecord {
    const requestId = randomUuid();
    const clientCallId = req.headers.get("x-sluice-call-id") ??
      req.headers.get("x-litellm-call-id");
    return {
      requestId,
      callId: clientCallId && CALL_ID_PATTERN.test(clientCallId) ? clientCallId : requestId,
      callType,
      trace: traceContextOf(req.headers, undefined),
      startTime: Date.now(),
      endTime: 0,
      headers: req.headers,
      requesterIp: (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname,
      stream: false,
    };
  }

  async #proxy(req: Request, call: Call): Promise<Response> {
    const { record } = call;
    const { config, router, keys } = this.#deps;
    record.principal = keys.authenticate(req.headers);
    const { value: body, bytes, verbatim } = await readJsonBody(req, config.server);
    record.bodyBytes = bytes;
    record.stream = body.stream === true;
    if (typeof body.model === "string") record.model = body.model;
    const upstream = this.#upstreamOf(call, body, router.deployments(record.model ?? ""));
    const { model } = upstream;
    const metadata = body.metadata as Record<string, unknown> | undefined;
    // `metadata.trace_id` (or LiteLLM's `existing_trace_id`) names the trace when no traceparent does.
    const namedTrace = metadata?.trace_id ?? metadata?.existing_trace_id;
    if (namedTrace !== undefined && !req.headers.has("traceparent")) {
      record.trace = traceContextOf(req.headers, namedTrace);
    }
    const key = record.principal.key;
    call.controls = readControls(
      { headers: req.headers, body, key, team: key?.team ? this.#teams.get(key.team) : undefined },
      config.controls,
    );
    const group = router.deployments(model);
    // A model hidden from the key answers exactly like one that does not exist.
    if (group.length === 0 || !keyAllowsModel(key, model)) {
      throw unknownModel(model, this.#deps.allowedModels(record.principal));
    }
    // On a native route `metadata` is the API's own field (Anthropic's user_id, OpenAI's tags).
    const upstreamBody = group[0].config.forward_metadata
      ? upstream.body
      : withoutGatewayFields(upstream.body, call.native ? ["metadata"] : []);
    const routed = await router.send(
      model,
      {
        callType: upstream.callType,
        body: upstreamBody,
        bytes: upstream.own && upstreamBody === body && verbatim ? bytes : undefined,
        stream: record.stream,
        headers: { ...this.#traceHeaders(record), ...nativeHeaders(call, req.headers) },
      },
      req.signal,
      (d) => (record.deployment = d),
    );
    call.upstreamMs = routed.upstreamMs;
    const { response } = routed;
    // The request as sent is kept only when the event will carry it.
    if (metadata?.log_raw_request === true) record.sent = response.sent;
    if (response.status >= 400) {
      throw passThroughError(response.status, response.json, response.retryAfter);
    }
    if (response.stream) return this.#relay(req, call, body, routed, response.stream);
    return this.#answer(call, routed);
  }

  /**
   * The model and the upstream request of a call: the client's body on the
   * OpenAI routes, its Chat Completions translation on the Responses route.
   */
  #upstreamOf(call: Call, body: Record<string, unknown>, group: readonly Deployment[]): Upstream {
    const { record } = call;
    if (!isTranslated(record.callType)) {
      const model = validateCallBody(record.callType, body);
      return { model, callType: record.callType, body, own: true };
    }
    const callType = record.callType;
    if (group.length > 0 && group.every((d) => speaksNatively(callType, d))) {
      // Every upstream of the model serves the route's API itself: the request goes as it is.
      // A group that mixes kinds is translated: every deployment takes Chat Completions.
      const { model, call: native } = nativeCall(record.callType, body);
      call.native = native;
      return { model, callType: record.callType, body, own: true };
    }
    const translation = translate(
      record.callType,
      body,
      record.requestId,
      record.startTime,
      (id) => this.#items.get(id),
    );
    call.translation = translation;
    return { model: translation.model, callType: "chat", body: translation.chat, own: false };
  }

  /**
   * `POST /v1/messages/count_tokens`: Anthropic's own count for an Anthropic
   * model, else the prompt's tokens estimated as the mock counts them (about
   * four characters a token). Authenticated and limited to the caller's
   * models like a call; errors Anthropic-shaped; not logged.
   */
  async countTokens(req: Request): Promise<Response> {
    const { config, router, keys } = this.#deps;
    const scrub = configScrubber(config);
    try {
      const principal = keys.authenticate(req.headers);
      const { value: body } = await readJsonBody(req, config.server);
      const model = typeof body.model === "string" ? body.model : "";
      const first = router.deployments(model)[0];
      if (model && (!first || !keyAllowsModel(principal.key, model))) {
        throw unknownModel(model, this.#deps.allowedModels(principal));
      }
      if (first?.config.provider === "anthropic") {
        const counted = await anthropicCountTokens(
          first,
          body,
          anthropicClientHeaders(req.headers),
          req.signal,
        );
        // Anthropic's own answer (an error too, in its shape), scrubbed of credentials.
        return respond(scrub.text(JSON.stringify(counted.json ?? {})), counted.status, {
          "content-type": "application/json",
        });
      }
      const { chat } = translate("messages", { max_tokens: 1, ...body }, randomUuid(), Date.now());
      const messages = chat.messages;
      return respond(
        JSON.stringify({ input_tokens: promptTokens(messages, chat) }),
        200,
        { "content-type": "application/json" },
      );
    } catch (error) {
      const failure = error instanceof GatewayError ? error : internalError(error, scrub);
      return errorResponse(scrubbed(failure, scrub), {}, "anthropic");
    }
  }

  /** `traceparent` / `tracestate` for the upstream, when config forwards them. */
  #traceHeaders(record: CallRecord): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.#deps.config.controls.forward_traceparent_to_llm_provider) {
      headers.traceparent = formatTraceparent(record.trace);
      if (record.trace.traceState) headers.tracestate = record.trace.traceState;
    }
    return headers;
  }

  /** A non-stream answer: the upstream's text as it came, Sluice's headers added. */
  #answer(call: Call, routed: RoutedResponse): Response {
    const { record } = call;
    const { response } = routed;
    routed.done();
    const answered = response.json as Record<string, unknown>;
    // A native Responses answer is logged as the chat completion it amounts to.
    const result = call.native ? call.native.asChat(answered) : answered;
    const failed = call.native?.failure(answered);
    if (failed) record.error = upstreamFailure(failed, routed.deployment);
    record.completionStartTime = Date.now();
    record.responseId = typeof result.id === "string" ? result.id : undefined;
    record.responseModel = typeof result.model === "string" ? result.model : undefined;
    record.usage = result.usage as Usage | undefined;
    // The event's response and finish reasons are read from it on the log side.
    if (response.text !== undefined && !call.native) record.resultText = response.text;
    else record.result = result;
    record.cost = this.#cost(routed.deployment, record.usage);
    const headers = this.#headers(call);
    headers["content-type"] = "application/json";
    if (record.cost) headers["x-sluice-response-cost"] = String(record.cost.total);
    this.#timingHeaders(call, headers);
    let text = response.text ?? JSON.stringify(answered);
    if (call.translation) {
      // A translated route: the chat answer in the route's shape (the event keeps the chat one).
      record.responseId = call.translation.id;
      const translated = call.translation.answer(result);
      if (record.callType === "responses") this.#items.keep(translated.output);
      text = JSON.stringify(translated);
    }
    const out = respond(text, response.status, headers);
    this.#deps.finish(record, call.controls);
    return out;
  }

  /** A stream, relayed event by event; the call is logged when the stream ends. */
  #relay(
    req: Request,
    call: Call,
    body: Record<string, unknown>,
    routed: RoutedResponse,
    stream: ReadableStream<Uint8Array>,
  ): Response {
    const { record } = call;
    const headers = this.#headers(call);
    headers["content-type"] = "text/event-stream; charset=utf-8";
    headers["cache-control"] = "no-cache";
    this.#timingHeaders(call, headers);
    const translator = call.translation?.stream();
    const relayed = relayStream(stream, {
      translate: translator ?? call.native?.observer,
      forwardUsage:
        (body.stream_options as Record<string, unknown> | undefined)?.include_usage === true,
      clientSignal: req.signal,
      describeError: (error) => streamErrorBody(error, record.deployment),
      // Runs exactly once (the relay sees to it); the call is released whatever throws here.
      onEnd: ({ accumulator, aborted, error }) => {
        try {
          routed.done();
          record.responseId = call.translation?.id ?? accumulator.id;
          record.responseModel = accumulator.model;
          record.usage = accumulator.usage;
          record.completionStartTime = accumulator.firstTokenAt;
          record.response = record.callType === "completion"
            ? accumulator.texts()
            : accumulator.messages()[0];
          record.finishReasons = accumulator.finishReasons();
          if (call.native) this.#nativeStreamEnd(record, call.native);
          else if (translator instanceof ResponsesStream && !error) {
            this.#items.keep(translator.output); // the items as streamed, with their ids
          }
          record.cost = this.#cost(routed.deployment, record.usage);
          record.error = streamEndError(aborted, error, record.deployment) ?? record.error;
        } catch (fault) {
          record.error = streamEndError("gateway", fault, record.deployment);
        } finally {
          try {
            this.#deps.finish(record, call.controls);
          } finally {
            this.#deps.release();
          }
        }
      },
    });
    this.#deps.hold(); // the stream stays in flight until it ends
    return respond(relayed, 200, headers);
  }

  /** What a native stream leaves for the log: its final answer, as chat. */
  #nativeStreamEnd(record: CallRecord, native: NativeCall): void {
    record.completionStartTime = native.observer.firstTokenAt;
    const failed = native.failure();
    if (failed) record.error ??= upstreamFailure(failed, record.deployment);
    const final = native.streamed();
    if (!final) return;
    const chat = native.asChat(final);
    const choice = (chat.choices as Record<string, unknown>[])[0];
    record.responseId = typeof final.id === "string" ? final.id : undefined;
    record.responseModel = typeof final.model === "string" ? final.model : undefined;
    record.usage = chat.usage as Usage;
    record.response = choice.message as CallRecord["response"];
    record.finishReasons = [String(choice.finish_reason)];
  }

  /** Any failure: logged with its error, answered OpenAI-shaped and scrubbed of credentials. */
  #failed(error: unknown, call: Call): Response {
    const { record } = call;
    const provider = record.deployment?.config.provider;
    if (error instanceof ClientClosedError) {
      const closed = clientClosed(error.code, error.message);
      record.error = logEventError(closed, provider);
      this.#deps.finish(record, call.controls);
      return errorResponse(closed);
    }
    // Upstream messages and bodies may echo credentials: what leaves is scrubbed.
    const scrub = configScrubber(this.#deps.config);
    const failure = scrubbed(
      error instanceof GatewayError ? error : internalError(error, scrub),
      scrub,
    );
    if (failure.upstreamMs !== undefined) call.upstreamMs = failure.upstreamMs;
    record.error = logEventError(failure, provider);
    const headers = this.#headers(call);
    this.#timingHeaders(call, headers);
    this.#deps.finish(record, call.controls);
    const shape = record.callType === "messages" ? "anthropic" : "openai";
    return errorResponse(failure, scrub.headers(headers), shape);
  }

  /** Sluice's own response headers (call id, trace id, version, deployment). */
  #headers(call: Call): Record<string, string> {
    const { record } = call;
    const headers: Record<string, string> = {
      "x-request-id": record.requestId,
      "x-sluice-call-id": record.callId,
      "x-sluice-trace-id": record.trace.traceId,
      "x-sluice-version": VERSION,
    };
    if (record.deployment) {
      headers["x-sluice-model-id"] = record.deployment.id;
      headers["x-sluice-api-base"] = record.deployment.apiBase;
    }
    return headers;
  }

  /** The gateway's own time (`x-sluice-overhead-ms`), and LiteLLM's headers when asked for. */
  #timingHeaders(call: Call, headers: Record<string, string>): void {
    const overhead = performance.now() - call.t0 - call.upstreamMs;
    headers["x-sluice-overhead-ms"] = overhead.toFixed(3);
    call.record.upstreamMs = Math.round(call.upstreamMs * 1000) / 1000;
    call.record.overheadMs = Math.round(overhead * 1000) / 1000;
    if (this.#deps.config.server.litellm_headers) addLiteLLMHeaders(headers, call.t0);
  }

  #cost(d: Deployment, usage: Usage | undefined) {
    if (!this.#prices.has(d)) this.#prices.set(d, priceOf(d.config, d.upstreamModel));
    const price = this.#prices.get(d);
    if (!price || !usage) return undefined;
    return computeCost(price, {
      prompt: usage.prompt_tokens ?? 0,
      completion: usage.completion_tokens ?? 0,
      cacheRead: usage.prompt_tokens_details?.cached_tokens,
      cacheCreation: usage.cache_creation_input_tokens,
    });
  }
}

/** The body without gateway-only fields (a copy: deleting keys would slow every later access). */
function withoutGatewayFields(
  body: Record<string, unknown>,
  keep: readonly string[],
): Record<string, unknown> {
  const drop = GATEWAY_FIELDS.filter((f) => !keep.includes(f));
  if (!drop.some((f) => f in body)) return body;
  const copy: Record<string, unknown> = {};
  for (const key in body) if (!drop.includes(key)) copy[key] = body[key];
  return copy;
}

/** The client's `anthropic-version` / `anthropic-beta`, for a Messages call going to Anthropic as it is. */
function nativeHeaders(call: Call, headers: Headers): Record<string, string> {
  return call.native && call.record.callType === "messages" ? anthropicClientHeaders(headers) : {};
}

/** The client's `anthropic-version` and `anthropic-beta` headers. */
function anthropicClientHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["anthropic-version", "anthropic-beta"]) {
    const value = headers.get(name);
    if (value) out[name] = value;
  }
  return out;
}

/** The log event's error for an upstream that answered 200 but reported a failure. */
function upstreamFailure(
  failed: { code: string; message: string },
  deployment: Deployment | undefined,
): CallRecord["error"] {
  return {
    status: 502,
    code: failed.code,
    class: "UpstreamReportedError",
    message: failed.message,
    provider: deployment?.config.provider,
  };
}
