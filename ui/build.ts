/**
 * Builds the console's front end (`ui/`) into one JS and one CSS file with
 * Deno's bundler (`deno bundle`, esbuild inside): Preact and uPlot from npm,
 * minified, for the browser. `--check` builds into a temporary directory and
 * compares byte for byte with the committed bundle in core/console/assets/
 * (the build is deterministic), failing when they differ.
 *
 * ```sh
 * deno task build:ui   # rebuild core/console/assets/app.{js,css}
 * deno task check:ui   # rebuild to a temp dir and compare
 * ```
 * @module
 */
const root = new URL("../", import.meta.url);
const assets = new URL("core/console/assets/", root);
const check = Deno.args.includes("--check");
const FILES = ["app.js", "app.css"];

async function bundle(outDir: string): Promise<void> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      new URL("ui/bundle.json", root).pathname,
      "--lock",
      new URL("ui/deno.lock", root).pathname,
      ...(check ? ["--frozen"] : []),
      "--platform",
      "browser",
      "--minify",
      "--output",
      `${outDir}/app.js`,
      new URL("ui/main.tsx", root).pathname,
    ],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await command.output();
  if (code !== 0) throw new Error(`deno bundle failed (exit ${code})`);
}

if (check) {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-" });
  try {
    await bundle(dir);
    const stale: string[] = [];
    for (const name of FILES) {
      const built = await Deno.readFile(`${dir}/${name}`);
      const committed = await Deno.readFile(new URL(name, assets)).catch(() => new Uint8Array());
      if (built.length !== committed.length || built.some((b, i) => b !== committed[i])) {
        stale.push(name);
      }
    }
    if (stale.length > 0) {
      console.error(
        `check:ui: core/console/assets/${
          stale.join(", ")
        } differ from a fresh build of ui/: run deno task build:ui and commit`,
      );
      Deno.exit(1);
    }
    console.log(`check:ui: ${FILES.join(", ")} match a fresh build of ui/`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} else {
  await bundle(assets.pathname.replace(/\/$/, ""));
  for (const name of FILES) {
    const { size } = await Deno.stat(new URL(name, assets));
    console.log(`core/console/assets/${name}: ${size} bytes`);
  }
}
