/**
 * Serialising one Sentry event as an envelope, with `@sentry/core`'s
 * envelope helpers.
 * @module
 */
import { createEnvelope, type Event, type EventEnvelope, serializeEnvelope } from "@sentry/core";
import type { SentryEvent } from "./event.ts";

/**
 * The envelope of one event, as the bytes of the HTTP body:
 *
 * ```
 * {"event_id":"…","sent_at":"…","sdk":{"name":"sluice-sentry","version":"…"}}
 * {"type":"event","length":<payload bytes>}
 * {…the event…}
 * ```
 *
 * The envelope header carries `event_id`, `sent_at` (written once, at send
 * time) and `sdk`; not the DSN (the `X-Sentry-Auth` header authenticates).
 * The item header carries `length`, so the payload is framed by size and
 * not by the next newline.
 *
 * @param event The event (its `event_id` is copied to the envelope header).
 * @param sentAt The send time.
 * @returns The envelope body.
 *
 * @example
 * ```ts
 * import { eventEnvelope, toSentryEvent } from "@sluice/sentry";
 * import { sampleFailureEvent } from "@sluice/core/testing";
 * const event = await toSentryEvent(sampleFailureEvent(), {
 *   environment: "production",
 *   release: "sluice@0.1.0",
 *   sdk: { name: "sluice-sentry", version: "0.1.0" },
 * });
 * const body = eventEnvelope(event, new Date());
 * new TextDecoder().decode(body).split("\n").length; // 3: envelope header, item header, event
 * ```
 */
export function eventEnvelope(event: SentryEvent, sentAt: Date): Uint8Array<ArrayBuffer> {
  const payload = JSON.stringify(event);
  const payloadBytes = new TextEncoder().encode(payload);
  const envelope = createEnvelope<EventEnvelope>(
    {
      event_id: event.event_id,
      sent_at: sentAt.toISOString(),
      sdk: { name: event.sdk.name, version: event.sdk.version },
    },
    [[
      { type: "event", length: payloadBytes.length },
      // serializeEnvelope writes string payloads verbatim; the JSON text is
      // passed so that `length` is the exact byte count of what is sent.
      payload as unknown as Event,
    ]],
  );
  const body = serializeEnvelope(envelope);
  return typeof body === "string" ? new TextEncoder().encode(body) : new Uint8Array(body);
}
