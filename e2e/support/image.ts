// Runs the image `make image` builds, without a container engine: its layers
// unpacked into a root filesystem (e2e/support/oci.ts), its entrypoint and
// command started in that root (chroot) as the image's user, on the host's
// network, with the image's environment and nothing of the test's — the way a
// kubelet starts the container, ServiceAccount files included.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Image, readImage, unpack } from "./oci.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** Where the kubelet mounts a Pod's ServiceAccount token, CA and namespace. */
export const SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Builds the image when its inputs changed (a no-op after `make image`); returns the output directory. */
export function buildImage(): string {
  return execFileSync(join(ROOT, "tools/image/build.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 280_000 }).trim();
}

export interface Unpacked {
  image: Image;
  rootfs: string;
  remove(): void;
}

export function unpackImage(dir: string, ref = "dev"): Unpacked {
  const image = readImage(join(dir, "oci"), ref);
  const rootfs = mkdtempSync(join(tmpdir(), "smartops-image-rootfs-"));
  unpack(image, rootfs);
  // The mount point a runtime creates for the container's /proc.
  mkdirSync(join(rootfs, "proc"));
  return { image, rootfs, remove: () => rmSync(rootfs, { recursive: true, force: true }) };
}

/** A second root filesystem of the same image (as a second Pod gets), copied rather than unpacked again. */
export function copyUnpacked(u: Unpacked): Unpacked {
  const rootfs = mkdtempSync(join(tmpdir(), "smartops-image-rootfs-"));
  execFileSync("cp", ["-a", `${u.rootfs}/.`, rootfs]);
  return { image: u.image, rootfs, remove: () => rmSync(rootfs, { recursive: true, force: true }) };
}

/** Writes a ServiceAccount's token, the cluster CA and the namespace where a Pod finds them, readable by uid. */
export function mountServiceAccount(rootfs: string, files: { token: string; ca: string; namespace: string }, uid: number, gid: number): void {
  const dir = join(rootfs, SERVICEACCOUNT_DIR);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries({ token: files.token, "ca.crt": files.ca, namespace: files.namespace })) {
    writeFileSync(join(dir, name), content, { mode: 0o400 });
    chownSync(join(dir, name), uid, gid);
  }
}

export function imageUser(image: Image): { uid: number; gid: number } {
  const [u, g] = (image.config.config.User ?? "").split(":");
  const uid = Number(u), gid = Number(g ?? u);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`image user ${image.config.config.User} is not numeric uid:gid`);
  return { uid, gid };
}

export interface RunOptions {
  /** Replaces the image's Cmd, as a Pod's `args` does. */
  args?: string[];
  /** Added to the image's Env, as a Pod's `env` is. */
  env?: Record<string, string>;
  logFile: string;
}

/**
 * Starts Entrypoint + (args ?? Cmd) inside rootfs: root directory and working
 * directory changed, uid and gid dropped to the image's User (supplementary
 * groups dropped), /proc mounted in a mount namespace of its own; no other
 * namespace — so it shares the host's network and reaches the test cluster's
 * loopback API server. Needs root.
 */
export function runInImage(u: Unpacked, opts: RunOptions): ChildProcess {
  const c = u.image.config.config;
  const { uid, gid } = imageUser(u.image);
  const argv = [...(c.Entrypoint ?? []), ...(opts.args ?? c.Cmd ?? [])];
  if (!argv[0] || !existsSync(join(u.rootfs, argv[0]))) throw new Error(`entrypoint ${argv[0]} is not in the image`);
  const env = Object.fromEntries((c.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  mkdirSync(resolve(opts.logFile, ".."), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  const child = spawn("unshare", ["--mount", "--mount-proc", "--root", u.rootfs, "--wd", c.WorkingDir || "/", "--setuid", String(uid), "--setgid", String(gid), "--", ...argv], {
    stdio: ["ignore", fd, fd],
    env: { ...env, ...opts.env },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
  return child;
}

/** Uid, gid, groups and effective capabilities of a running process, from /proc. */
export function processCredentials(pid: number): { uid: number[]; gid: number[]; groups: number[]; capEff: bigint } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => (new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1] ?? "").trim();
  const ids = (name: string) => field(name).split(/\s+/).filter(Boolean).map(Number);
  return { uid: ids("Uid"), gid: ids("Gid"), groups: ids("Groups"), capEff: BigInt(`0x${field("CapEff") || "0"}`) };
}
