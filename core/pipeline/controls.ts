/**
 * What a request said about its logging, already gated by config.
 * @module
 */
import type { RedactionOverride } from "../config/types.ts";

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
