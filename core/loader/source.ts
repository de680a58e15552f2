/**
 * Parses a sink entry's `use:` into the kind of source it names: a built-in
 * short name, a local file, an exact `npm:`/`jsr:` specifier, an `https://`
 * (or loopback `http://`) URL, or an `s3://`/`gs://` bucket path. Refuses
 * everything else (version ranges, plain http to other hosts) before any
 * request is made.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LoadIssue } from "./errors.ts";

/** A built-in plugin: `@sluice/<name>`, else `jsr:@sluice/<name>`. */
export interface BuiltinSource {
  /** Discriminant. */
  kind: "builtin";
  /** The short name (`otel`). */
  name: string;
  /** The specifiers tried, in order. */
  specifiers: [string, string];
}

/** A module file on disk. */
export interface FileSource {
  /** Discriminant. */
  kind: "file";
  /** Absolute path. */
  path: string;
  /** Its `file://` URL. */
  url: string;
}

/** An exact-version `npm:` or `jsr:` specifier. */
export interface RegistrySource {
  /** Discriminant. */
  kind: "registry";
  /** The specifier as written. */
  specifier: string;
  /** `npm` or `jsr`. */
  registry: "npm" | "jsr";
}

/** An `https://` URL, or `http://` on a loopback host. */
export interface UrlSource {
  /** Discriminant. */
  kind: "url";
  /** The parsed URL. */
  url: URL;
  /** Extension of the cached copy (`.js`, `.mjs`, `.ts`). */
  ext: string;
}

/** An object in an S3 or GCS bucket. */
export interface BucketSource {
  /** Discriminant. */
  kind: "bucket";
  /** `s3` or `gs`. */
  scheme: "s3" | "gs";
  /** Bucket name. */
  bucket: string;
  /** Object key (not URL-encoded). */
  key: string;
  /** Extension of the cached copy. */
  ext: string;
}

/** Any source `use:` may name. */
export type PluginSource = BuiltinSource | FileSource | RegistrySource | UrlSource | BucketSource;

const BUILTIN = /^[a-z][a-z0-9-]*$/;
const EXACT_SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NPM = /^npm:((?:@[^/@\s]+\/)?[^/@\s]+)(?:@([^/\s]*))?(\/.*)?$/;
const JSR = /^jsr:(@[^/@\s]+\/[^/@\s]+)(?:@([^/\s]*))?(\/.*)?$/;

const ACCEPTED = "a built-in short name (console), a path (./plugin.ts, /abs/plugin.js, " +
  "file:///…), npm:pkg@1.2.3, jsr:@scope/pkg@1.2.3, https://…, http:// on loopback, " +
  "s3://bucket/key or gs://bucket/key";

/** True for 127.0.0.0/8, `localhost` and `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host === "[::1]" || host === "::1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((n) => Number(n) <= 255);
}

/** `.js`, `.mjs` or `.ts` from a path's last segment; `.js` otherwise. */
export function cacheExtension(path: string): string {
  const m = /\.(m?js|ts)$/i.exec(path);
  return m ? `.${m[1].toLowerCase()}` : ".js";
}

/** `use:` as shown in messages: no user info, no query string, no fragment. */
export function displaySource(use: string): string {
  if (/^(https?|s3|gs):\/\//i.test(use)) {
    try {
      const url = new URL(use);
      url.username = "";
      url.password = "";
      const query = url.search ? "?…" : "";
      url.search = "";
      url.hash = "";
      return url.href + query;
    } catch {
      return use.replace(/\/\/[^/@]*@/, "//").replace(/[?#].*$/, "?…");
    }
  }
  return use;
}

function checkRegistryVersion(
  use: string,
  registry: "npm" | "jsr",
  name: string,
  version: string | undefined,
): void {
  const example = `${registry}:${name}@1.2.3`;
  const why = "registry integrity and deno.lock pin an exact version, never a range";
  if (version === undefined || version === "") {
    throw new LoadIssue(
      "unsupported_source",
      `${use} has no version`,
      `write an exact version, e.g. ${example} (${why})`,
    );
  }
  if (!EXACT_SEMVER.test(version)) {
    throw new LoadIssue(
      "unsupported_source",
      `version "${version}" of ${registry}:${name} is a range or a tag, not an exact version`,
      `write an exact version, e.g. ${example} (${why})`,
    );
  }
}

/**
 * Classifies `use:`; relative paths resolve against `baseDir`.
 * @throws {LoadIssue} `unsupported_source` for anything not accepted
 */
export function parseSource(use: string, baseDir: string): PluginSource {
  if (BUILTIN.test(use)) {
    return { kind: "builtin", name: use, specifiers: [`@sluice/${use}`, `jsr:@sluice/${use}`] };
  }
  if (use.startsWith("./") || use.startsWith("../") || use === "." || use === "..") {
    const path = resolve(baseDir, use);
    return { kind: "file", path, url: pathToFileURL(path).href };
  }
  if (use.startsWith("file:")) {
    let path: string;
    try {
      path = fileURLToPath(use);
    } catch (err) {
      throw new LoadIssue("unsupported_source", `${use} is not a valid file URL (${err})`);
    }
    return { kind: "file", path, url: pathToFileURL(path).href };
  }
  if (isAbsolute(use) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(use)) {
    return { kind: "file", path: use, url: pathToFileURL(use).href };
  }
  if (use.startsWith("npm:")) {
    const m = NPM.exec(use);
    if (!m) {
      throw new LoadIssue(
        "unsupported_source",
        `${use} is not an npm specifier`,
        `write npm:pkg@1.2.3`,
      );
    }
    checkRegistryVersion(use, "npm", m[1], m[2]);
    return { kind: "registry", specifier: use, registry: "npm" };
  }
  if (use.startsWith("jsr:")) {
    const m = JSR.exec(use);
    if (!m) {
      throw new LoadIssue(
        "unsupported_source",
        `${use} is not a jsr specifier`,
        `write jsr:@scope/pkg@1.2.3`,
      );
    }
    checkRegistryVersion(use, "jsr", m[1], m[2]);
    return { kind: "registry", specifier: use, registry: "jsr" };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(use)?.[1]?.toLowerCase();
  if (scheme === "https" || scheme === "http") {
    let url: URL;
    try {
      url = new URL(use);
    } catch {
      throw new LoadIssue("unsupported_source", `${displaySource(use)} is not a valid URL`);
    }
    if (scheme === "http" && !isLoopbackHost(url.hostname)) {
      throw new LoadIssue(
        "unsupported_source",
        `plain http:// is accepted only for loopback hosts (127.0.0.0/8, localhost, [::1]), ` +
          `not ${url.hostname}`,
        "serve the plugin over https://, or download it and use a local path",
      );
    }
    return { kind: "url", url, ext: cacheExtension(url.pathname) };
  }
  if (scheme === "s3" || scheme === "gs") {
    const m = /^(?:s3|gs):\/\/([^/?#]+)\/([^?#]+)$/i.exec(use);
    if (!m) {
      throw new LoadIssue(
        "unsupported_source",
        `${use} is not a bucket path`,
        `write ${scheme}://bucket/path/to/plugin.js`,
      );
    }
    return { kind: "bucket", scheme, bucket: m[1], key: m[2], ext: cacheExtension(m[2]) };
  }
  const hint = /^@[^/]+\/[^/]+/.test(use)
    ? `write jsr:${use.includes("@", 1) ? use : `${use}@1.2.3`} or npm:${use}…`
    : /^[^:]+\.(m?js|ts)$/.test(use)
    ? `write ./${use} for a path relative to the config file`
    : undefined;
  throw new LoadIssue(
    "unsupported_source",
    `"${displaySource(use)}" is not a plugin source Sluice can load (accepted: ${ACCEPTED})`,
    hint,
  );
}
