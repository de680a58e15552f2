/**
 * What an Azure service's error answer says, in a form that stays the same
 * for every request with the same cause (no request ids, times or
 * signatures) and carries no secret: Azure Storage's XML
 * (`<Error><Code>…</Code><Message>…</Message></Error>` and the
 * `x-ms-error-code` header) and Azure's JSON (`{"error":{"code","message"}}`).
 * @module
 */

/** The code and message of an Azure error answer. */
export interface AzureErrorDetail {
  /** The error code (`AuthenticationFailed`, `ContainerNotFound`, `InvalidStream`, …), if any. */
  code?: string;
  /** The first line of the message, without request id and time, if any. */
  message?: string;
}

const decodeXml = (text: string) =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");

/** The first line of a message, cut before `RequestId:` / `Time:` and at 300 characters. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n|RequestId:|Time:/)[0].replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Reads an Azure error answer's code and message.
 *
 * @param text The answer's body (XML, JSON or anything else).
 * @param headers The answer's headers (`x-ms-error-code` wins for the code).
 * @returns The code and message found.
 *
 * @example Azure Storage
 * ```ts
 * import { parseAzureError } from "@sluice/azure";
 *
 * parseAzureError(
 *   "<?xml version=\"1.0\"?><Error><Code>ContainerNotFound</Code>" +
 *     "<Message>The specified container does not exist.\nRequestId:1\nTime:2026-12-06</Message></Error>",
 * ); // { code: "ContainerNotFound", message: "The specified container does not exist." }
 * ```
 *
 * @example Azure Monitor
 * ```ts
 * import { parseAzureError } from "@sluice/azure";
 *
 * parseAzureError(JSON.stringify({ error: { code: "InvalidStream", message: "Stream not found." } }));
 * // { code: "InvalidStream", message: "Stream not found." }
 * ```
 */
export function parseAzureError(text: string, headers?: Headers): AzureErrorDetail {
  const detail: AzureErrorDetail = {};
  const headerCode = headers?.get("x-ms-error-code")?.trim();
  const trimmed = text.trim();
  if (trimmed.startsWith("<")) {
    const code = /<Code>([^<]*)<\/Code>/.exec(trimmed)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(trimmed)?.[1];
    if (code) detail.code = decodeXml(code).trim();
    if (message) detail.message = firstLine(decodeXml(message));
  } else if (trimmed.startsWith("{")) {
    try {
      const body = JSON.parse(trimmed);
      const error = typeof body?.error === "object" && body.error !== null ? body.error : body;
      if (typeof error?.code === "string") detail.code = error.code;
      if (typeof error?.message === "string") detail.message = firstLine(error.message);
    } catch {
      // not JSON after all
    }
  } else if (trimmed) {
    detail.message = firstLine(trimmed);
  }
  if (headerCode) detail.code = headerCode;
  return detail;
}

/**
 * An Azure error answer as one short phrase for a sink's message:
 * `Code: message`, `Code`, `message`, or `""`, passed through `scrub`.
 *
 * @param text The answer's body.
 * @param headers The answer's headers.
 * @param scrub Removes secrets (the sink's `secretScrubber`).
 * @returns The phrase.
 *
 * @example
 * ```ts
 * import { azureErrorText } from "@sluice/azure";
 *
 * azureErrorText("<Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>");
 * // "AuthenticationFailed: Server failed to authenticate the request."
 * ```
 */
export function azureErrorText(
  text: string,
  headers?: Headers,
  scrub: (text: string) => string = (t) => t,
): string {
  const { code, message } = parseAzureError(text, headers);
  return scrub(code && message ? `${code}: ${message}` : code ?? message ?? "");
}
