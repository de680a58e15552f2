/**
 * What a request says about its logging (headers and body), already gated by
 * config.
 * @module
 */
import type { ControlsConfig, KeyConfig, RedactionOverride, TeamConfig } from "../config/types.ts";

/** A call's logging controls. */
export interface CallControls {
  /** `"no-log": true` (when not disabled by `global_disable_no_log_param`). */
  noLog: boolean;
  /** Sink names or plugin names disabled for this call (when dynamic disabling is allowed). */
  disabledSinks: readonly string[];
  /** The key's (else its team's) sink list, replacing the global list. */
  sinks?: readonly string[];
  /** `metadata.mask_input`. */
  maskInput: boolean;
  /** `metadata.mask_output`. */
  maskOutput: boolean;
  /** Disable-redaction header from a key allowed to opt out. */
  disableRedaction: boolean;
  /** The key's and its team's redaction, which can only tighten. */
  redaction: readonly RedactionOverride[];
}

/** Controls for a call with no key and no request controls. */
export const DEFAULT_CONTROLS: CallControls = {
  noLog: false,
  disabledSinks: [],
  maskInput: false,
  maskOutput: false,
  disableRedaction: false,
  redaction: [],
};

const TRUE_HEADER = /^(1|true|yes)$/i;

/** A header-free view of what `readControls` reads from a call. */
export interface ControlsSource {
  /** The request headers. */
  headers: Headers;
  /** The parsed body (`no-log`, `mask_input`, `metadata`). */
  body: Record<string, unknown>;
  /** The virtual key used, if any. */
  key?: KeyConfig;
  /** The key's team, if any. */
  team?: TeamConfig;
}

/**
 * A call's logging controls from its headers and body (Sluice's and
 * LiteLLM's names), gated by config: `controls:` decides whether clients may
 * skip logging or disable sinks; only keys with `allow_redaction_opt_out`
 * may lower redaction.
 */
export function readControls(call: ControlsSource, config: ControlsConfig): CallControls {
  const { headers, body, key, team } = call;
  const metadata = (body.metadata ?? {}) as Record<string, unknown>;
  const disabled = config.allow_dynamic_callback_disabling
    ? (headers.get("x-sluice-disable-sinks") ?? headers.get("x-litellm-disable-callbacks") ?? "")
      .split(",").map((s) => s.trim()).filter(Boolean)
    : [];
  const optOut = headers.get("x-sluice-disable-redaction") ??
    headers.get("litellm-disable-message-redaction");
  return {
    noLog: !config.global_disable_no_log_param && body["no-log"] === true,
    disabledSinks: disabled,
    sinks: key?.sinks ?? team?.sinks,
    maskInput: metadata.mask_input === true || body.mask_input === true,
    maskOutput: metadata.mask_output === true || body.mask_output === true,
    disableRedaction: key?.allow_redaction_opt_out === true && TRUE_HEADER.test(optOut ?? ""),
    redaction: [key?.redaction, team?.redaction].filter((r) => r !== undefined),
  };
}
