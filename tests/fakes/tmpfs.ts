/**
 * A small tmpfs for disk-full tests. Mounting needs root (CI runs as root);
 * elsewhere the tests that need it are skipped with a line saying why.
 * @module
 */

/** A mounted tmpfs. */
export interface Tmpfs {
  /** Its mount point. */
  path: string;
  /** Fills the free space with a file; returns its path (remove it to free the space). */
  fill(): Promise<string>;
  /** Unmounts it and removes the mount point. */
  unmount(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, err: String(error) };
  }
}

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
export async function tmpfsUnavailable(): Promise<string | undefined> {
  const probe = await mountTmpfs(64);
  if (typeof probe === "string") return probe;
  await probe.unmount();
  return undefined;
}

/** Mounts a tmpfs of `sizeKb` KiB; returns the reason as a string when that is not permitted. */
export async function mountTmpfs(sizeKb: number): Promise<Tmpfs | string> {
  const path = await Deno.makeTempDir({ prefix: "sluice-tmpfs-" });
  const mounted = await run("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", path]);
  if (!mounted.ok) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
    return `cannot mount a tmpfs (${
      mounted.err || "mount failed"
    }); run as root to include this test`;
  }
  return {
    path,
    async fill() {
      const file = `${path}/filler-${crypto.randomUUID()}`;
      const handle = await Deno.open(file, { create: true, write: true });
      const block = new Uint8Array(4096);
      try {
        for (;;) await handle.write(block);
      } catch {
        // ENOSPC: the disk is full
      } finally {
        handle.close();
      }
      return file;
    },
    async unmount() {
      await run("umount", ["-l", path]);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
