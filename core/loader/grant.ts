/**
 * Operator-granted plugin permissions. A plugin asks (`permissions`, fixed
 * or derived from its config); the sink entry grants (`permissions:`). With
 * no `permissions:` on the entry, the default grant is:
 * - a built-in plugin (part of the gateway, reviewed with it): what it asks;
 * - any other plugin: the hosts named in the entry's own `config:` (every
 *   URL's host), no environment variable and no file.
 *
 * The plugin gets what it asked for when all of it is granted; a request
 * beyond the grant stops the gateway at start with both lists shown.
 * @module
 */
import { filePaths } from "./definition.ts";
import { LoadIssue } from "./errors.ts";

/** Hosts, environment variable names and files. */
export interface Grant {
  /** `host` (any port) or `host:port`. */
  net: string[];
  /** Variable names. */
  env: string[];
  /** Absolute file paths the plugin may read. */
  read: string[];
}

/** Where a grant came from, for the start-up line and errors. */
export type GrantSource = "entry" | "builtin default" | "default";

/** The decision for one sink entry. */
export interface Permitted {
  /** What the plugin gets (its request, when covered). */
  effective: Grant;
  /** What the operator granted (or the default). */
  granted: Grant;
  /** Where `granted` came from. */
  source: GrantSource;
}

const URL_SCHEMES = /^(https?|wss?|grpcs?):\/\//i;

/**
 * Every URL host named in a config, at any depth (`https://a.example:8443/x`
 * → `a.example:8443`, `http://b.example/` → `b.example`).
 */
export function hostsNamedIn(value: unknown, out: Set<string> = new Set()): string[] {
  if (typeof value === "string") {
    if (URL_SCHEMES.test(value.trim())) {
      try {
        const url = new URL(value.trim());
        if (url.hostname) out.add(url.port ? `${url.hostname}:${url.port}` : url.hostname);
      } catch {
        // not a URL after all
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) hostsNamedIn(item, out);
  } else if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) hostsNamedIn(item, out);
  }
  return [...out];
}

function splitHost(host: string): { name: string; port?: string } {
  const text = host.trim().toLowerCase();
  const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(text);
  if (v6) return { name: v6[1], port: v6[2] };
  const at = text.lastIndexOf(":");
  if (at > 0 && /^\d+$/.test(text.slice(at + 1))) {
    return { name: text.slice(0, at), port: text.slice(at + 1) };
  }
  return { name: text };
}

/** True when `grant` (`host` = any port, `host:port` = that port) covers `request`. */
export function hostCovered(request: string, grant: readonly string[]): boolean {
  const want = splitHost(request);
  return grant.some((g) => {
    const have = splitHost(g);
    return have.name === want.name && (have.port === undefined || have.port === want.port);
  });
}

/** What `requested` asks beyond `granted`. */
export function beyond(requested: Grant, granted: Grant): Grant {
  return {
    net: requested.net.filter((h) => !hostCovered(h, granted.net)),
    env: requested.env.filter((name) => !granted.env.includes(name)),
    read: requested.read.filter((path) => !granted.read.includes(path)),
  };
}

/**
 * A grant as one line: `net: a, b:443; env: X` (`none` for an empty list),
 * then `; read: /path` when it names files.
 */
export function describeGrant(grant: Grant): string {
  const list = (items: string[]) => items.length > 0 ? items.join(", ") : "none";
  const files = grant.read.length > 0 ? `; read: ${grant.read.join(", ")}` : "";
  return `net: ${list(grant.net)}; env: ${list(grant.env)}${files}`;
}

/**
 * Decides a sink entry's permissions.
 * @param requested What the plugin asks for (for its validated config).
 * @param entryGrant The entry's `permissions:`, if set.
 * @param config The entry's `config:` (its URLs form the default grant).
 * @param builtin True for a built-in plugin.
 * @throws {LoadIssue} `permission_denied` when the request goes beyond the grant
 */
export function decidePermissions(
  requested: Grant,
  entryGrant: Partial<Grant> | undefined,
  config: unknown,
  builtin: boolean,
): Permitted {
  const source: GrantSource = entryGrant ? "entry" : builtin ? "builtin default" : "default";
  const granted: Grant = entryGrant
    ? {
      net: entryGrant.net ?? [],
      env: entryGrant.env ?? [],
      read: filePaths(entryGrant.read ?? []),
    }
    : builtin
    ? { net: [...requested.net], env: [...requested.env], read: [...requested.read] }
    : { net: hostsNamedIn(config), env: [], read: [] };
  const missing = beyond(requested, granted);
  if (missing.net.length > 0 || missing.env.length > 0 || missing.read.length > 0) {
    throw new LoadIssue(
      "permission_denied",
      `the plugin asks for more than it is granted: asks ${describeGrant(requested)}; granted (${
        source === "entry" ? "this entry's permissions:" : "default: the hosts in its config:"
      }) ${describeGrant(granted)}; not granted: ${describeGrant(missing)}`,
      "grant what it needs in this sink entry's " +
        "`permissions: { net: [...], env: [...], read: [...] }` " +
        "if you trust the plugin with it, or use another plugin",
    );
  }
  return {
    effective: { net: [...requested.net], env: [...requested.env], read: [...requested.read] },
    granted,
    source,
  };
}
