/**
 * Dynamic `import()` of plugin modules, with errors sorted into "not
 * found" (`plugin_not_found`) and "found but broken" (`import_failed`).
 * A built-in short name is the specifier `@sluice/<name>` (a workspace
 * member here, an import-map entry for library users), else
 * `jsr:@sluice/<name>`. Resolution happens in this module, so it follows
 * core's import map and workspace.
 * @module
 */
import { errorMessage, LoadIssue } from "./errors.ts";
import type { BuiltinSource } from "./source.ts";

/** True when `err` says the specifier itself (not a dependency of it) was not found. */
export function isNotFound(err: unknown, specifier: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const message = errorMessage(err);
  if (
    code !== "ERR_MODULE_NOT_FOUND" && !/not found|not a dependency|does not exist/i.test(message)
  ) {
    return false;
  }
  const bare = specifier.replace(/^(jsr:|npm:|file:\/\/)/, "");
  const name = bare.replace(/^(@[^/]+\/[^/@]+|[^/@]+).*$/, "$1");
  return message.includes(specifier) || message.includes(bare) || message.includes(name);
}

/** Throws `plugin_not_found` when the file behind a file URL does not exist. */
export async function assertFileExists(fileUrl: string, shown: string): Promise<void> {
  try {
    const info = await Deno.stat(new URL(fileUrl));
    if (!info.isFile) throw new Deno.errors.NotFound(`${shown} is not a file`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) return; // let import() report it
    throw new LoadIssue(
      "plugin_not_found",
      `no plugin file at ${decodeURIComponent(new URL(fileUrl).pathname)}`,
      "check the path (relative paths resolve against the config file's directory)",
    );
  }
}

/**
 * Imports `specifier` (a file URL or an `npm:`/`jsr:` specifier).
 * @throws {LoadIssue} `plugin_not_found` or `import_failed`
 */
export async function importModule(specifier: string, shown: string): Promise<unknown> {
  if (specifier.startsWith("file:")) await assertFileExists(specifier, shown);
  try {
    return await import(specifier);
  } catch (err) {
    if (!specifier.startsWith("file:") && isNotFound(err, specifier)) {
      throw new LoadIssue(
        "plugin_not_found",
        `${shown} was not found: ${errorMessage(err)}`,
        "check the package name and version",
      );
    }
    throw new LoadIssue(
      "import_failed",
      `importing ${shown} failed: ${errorMessage(err)}`,
      "the module was found but does not evaluate: check that it is a valid ES module " +
        "(single-file bundles for remote sources)",
    );
  }
}

/**
 * Imports a built-in plugin: `@sluice/<name>`, else `jsr:@sluice/<name>`.
 * @throws {LoadIssue} `plugin_not_found` naming both specifiers, or `import_failed`
 */
export async function importBuiltin(source: BuiltinSource): Promise<unknown> {
  const causes: string[] = [];
  for (const specifier of source.specifiers) {
    try {
      return await import(specifier);
    } catch (err) {
      if (!isNotFound(err, specifier)) {
        throw new LoadIssue(
          "import_failed",
          `importing ${specifier} failed: ${errorMessage(err)}`,
          "the package was found but does not evaluate",
        );
      }
      causes.push(`${specifier}: ${errorMessage(err)}`);
    }
  }
  throw new LoadIssue(
    "plugin_not_found",
    `no built-in plugin "${source.name}": tried ${source.specifiers.join(" and ")} (${
      causes.join("; ")
    })`,
    `check the name; a plugin that is not built in needs a path, npm:/jsr: specifier or URL`,
  );
}

/**
 * The URL a sandbox Worker imports for a built-in plugin: `@sluice/<name>`
 * resolved through core's import map, else `jsr:@sluice/<name>`.
 */
export function resolveBuiltin(source: BuiltinSource): string {
  try {
    return import.meta.resolve(source.specifiers[0]);
  } catch {
    return source.specifiers[1];
  }
}
