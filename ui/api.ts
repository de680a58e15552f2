/**
 * The console's calls to its JSON API (`/ui/api`, same origin, session
 * cookie) and the shapes it answers with.
 * @module
 */

/** One listed call (a `calls` row without the event). */
export interface CallRow {
  seq: number;
  request_id: string;
  call_id: string;
  response_id: string | null;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  start_time: number;
  end_time: number;
  completion_start_time: number | null;
  status: "success" | "failure";
  call_type: string;
  stream: boolean;
  model: string | null;
  model_group: string | null;
  provider: string | null;
  api_base_host: string | null;
  user: string | null;
  end_user: string | null;
  key_alias: string | null;
  key_hash: string | null;
  team: string | null;
  tags: string[];
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_input_tokens: number | null;
  cost: number | null;
  response_time_ms: number;
  ttft_ms: number | null;
  error_status: number | null;
  error_type: string | null;
  error_message: string | null;
  finish_reason: string | null;
}

/** A page of calls. */
export interface CallPage {
  calls: CallRow[];
  next?: string;
}

/** One sink's delivery state for a call. */
export interface Delivery {
  sink: string;
  state: string;
  spooled_events: number;
  dropped: number;
  last_error: string | null;
}

/** `GET /ui/api/calls/:id`. */
export interface CallDetail {
  call: CallRow & { event: Record<string, unknown> };
  delivery: Delivery[];
}

/** One span of a trace. */
export interface Span {
  source: "call" | "otlp";
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  start_time: number;
  end_time: number;
  error: boolean;
  request_id: string | null;
  service_name: string | null;
}

/** A statistics bucket. */
export interface Bucket {
  start: number;
  calls: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  ttft_p50_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
}

/** A by-model, -team or -key row. */
export interface Group {
  key: string | null;
  calls: number;
  errors: number;
  tokens: number;
  cost: number;
}

/** `GET /ui/api/stats`. */
export interface Stats {
  from: number;
  to: number;
  bucketMs: number;
  buckets: Bucket[];
  totals: {
    calls: number;
    errors: number;
    p50_ms: number | null;
    p95_ms: number | null;
    ttft_p50_ms: number | null;
    ttft_p95_ms: number | null;
    prompt_tokens: number;
    completion_tokens: number;
    cost: number;
  };
  byModel: Group[];
  byTeam: Group[];
  byKey: Group[];
}

/** One sink's live state. */
export interface SinkState {
  name: string;
  use: string;
  queue_depth: number;
  spool_events: number;
  spool_bytes: number;
  circuit: "open" | "closed";
  sent: number;
  retried: number;
  dropped: number;
  skipped: number;
  last_error: string | null;
  state: "ok" | "retrying" | "down" | "backlog";
}

/** `GET /ui/api/session`. */
export interface Session {
  authenticated: boolean;
  login_required: boolean;
  user: { kind: string; name: string } | null;
  store: string;
}

/** `GET /ui/api/meta`: values for the filters. */
export interface Meta {
  models: string[];
  providers: string[];
  teams: string[];
  key_aliases: string[];
  call_types: string[];
  sinks: string[];
}

/** An API error, with the server's code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Listeners told when the session ended (a 401). */
export const loggedOut = new Set<() => void>();

/** GETs `/ui/api<path>` and parses the JSON answer. */
export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(`/ui/api${path}`, { credentials: "same-origin", signal });
  return await parse<T>(response);
}

/** POSTs JSON to `/ui/api<path>`. */
export async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`/ui/api${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return await parse<T>(response);
}

async function parse<T>(response: Response): Promise<T> {
  // A success's body is read as is: an aborted or cut read rejects (never an empty object that
  // a page would take for data).
  if (response.ok) return await response.json() as T;
  const body = await response.json().catch(() => ({}));
  const error = body?.error ?? {};
  if (response.status === 401 && error.code === "login_required") loggedOut.forEach((f) => f());
  throw new ApiError(response.status, error.code ?? "error", error.message ?? response.statusText);
}
