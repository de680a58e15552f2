/**
 * The console API's query parameters, turned into the store's filter and
 * paging options. Unknown parameters are refused, so a typo does not pass
 * as "no filter".
 * @module
 */

/** A bad query parameter: the API answers 400 with this message. */
export class QueryError extends Error {
  /** @param message What is wrong and what to send instead. */
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

const TEXT_PARAMS: Record<string, string> = {
  model: "model",
  provider: "provider",
  call_type: "callType",
  team: "team",
  key_alias: "keyAlias",
  user: "user",
  end_user: "endUser",
  tag: "tag",
  trace_id: "traceId",
  q: "text",
};

const NUMBER_PARAMS: Record<string, string> = {
  min_cost: "minCost",
  max_cost: "maxCost",
  min_latency_ms: "minLatencyMs",
  max_latency_ms: "maxLatencyMs",
};

/** The list parameters `GET /ui/api/calls` takes, for the API's docs and errors. */
export const CALL_PARAMS: readonly string[] = [
  "from",
  "to",
  "status",
  ...Object.keys(TEXT_PARAMS),
  ...Object.keys(NUMBER_PARAMS),
  "limit",
  "before",
  "after",
];

/**
 * A time: epoch milliseconds, or an ISO 8601 date-time.
 * @throws {QueryError} for anything else.
 */
export function parseTime(name: string, value: string): number {
  const time = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) {
    throw new QueryError(`${name} must be epoch milliseconds or an ISO 8601 time, not "${value}"`);
  }
  return time;
}

function parseNumber(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) {
    throw new QueryError(`${name} must be a number, not "${value}"`);
  }
  return number;
}

/** The store's `CallFilter` and `PageOptions` of a `/ui/api/calls` query. */
export interface CallQuery {
  /** Filter conditions (the store's `CallFilter`). */
  filter: Record<string, string | number>;
  /** Paging (the store's `PageOptions`). */
  page: { limit?: number; before?: string; after?: string };
}

/**
 * Parses a calls query (`/ui/api/calls` and its live stream).
 * @throws {QueryError} for an unknown parameter or a bad value.
 */
export function parseCallQuery(params: URLSearchParams): CallQuery {
  const filter: Record<string, string | number> = {};
  const page: CallQuery["page"] = {};
  for (const [name, raw] of params) {
    const value = raw.trim();
    if (value === "") continue;
    if (name in TEXT_PARAMS) filter[TEXT_PARAMS[name]] = value;
    else if (name in NUMBER_PARAMS) filter[NUMBER_PARAMS[name]] = parseNumber(name, value);
    else if (name === "from" || name === "to") filter[name] = parseTime(name, value);
    else if (name === "status") {
      if (value !== "success" && value !== "failure") {
        throw new QueryError(`status must be success or failure, not "${value}"`);
      }
      filter.status = value;
    } else if (name === "limit") {
      const limit = parseNumber(name, value);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new QueryError(`limit must be an integer from 1 to 1000, not "${value}"`);
      }
      page.limit = limit;
    } else if (name === "before" || name === "after") {
      if (!/^-?\d+(\.\d+)?\.\d+$/.test(value)) {
        throw new QueryError(
          `${name} must be a cursor from this API (a page's next), not "${value}"`,
        );
      }
      page[name] = value;
    } else {
      throw new QueryError(`unknown parameter "${name}"; known: ${CALL_PARAMS.join(", ")}`);
    }
  }
  return { filter, page };
}
