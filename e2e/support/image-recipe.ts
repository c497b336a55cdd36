// The image has two recipes: the Dockerfile (for users with a Docker engine)
// and tools/image (what `make image` builds here, without one). Both are read
// into one shape — entrypoint, command, user, working directory, environment,
// ports, shipped files, Node major — so a test can say where they disagree.
import { readFileSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import type { ImageConfig } from "./oci.ts";

const ROOT = resolve(import.meta.dirname, "../..");

export interface Recipe {
  entrypoint: string[];
  cmd: string[];
  user: string;
  workingDir: string;
  env: Record<string, string>;
  exposedPorts: string[];
  /** Absolute paths the image contains. */
  files: string[];
  nodeMajor: number;
}

/**
 * What the Dockerfile's base image brings, by repository: the config of
 * gcr.io/distroless/nodejsNN-debian12 (entrypoint node, PATH and the CA bundle).
 * The base cannot be pulled here, so its config is written down once.
 */
const BASES: Record<string, { entrypoint: string[]; env: Record<string, string>; files: string[] }> = {
  "gcr.io/distroless/nodejs": {
    entrypoint: ["/nodejs/bin/node"],
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt" },
    files: ["/nodejs/bin/node", "/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt", "/home/nonroot", "/tmp"],
  },
};

function instructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

const jsonArray = (args: string, what: string): string[] => {
  const v = JSON.parse(args) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`${what} ${args}: want the JSON (exec) form`);
  return v;
};

const port = (p: string) => (p.includes("/") ? p : `${p}/tcp`);

/** The final stage of a Dockerfile, with its base image's config filled in. */
export function dockerfileRecipe(text: string): Recipe {
  const all = instructions(text);
  const args: Record<string, string> = {};
  for (const i of all) {
    if (i.op === "FROM") break;
    if (i.op === "ARG") {
      const [k, v] = i.args.split("=");
      if (v !== undefined) args[k!] = v;
    }
  }
  const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[a ?? b!] ?? "");
  const lastFrom = all.map((i) => i.op).lastIndexOf("FROM");
  if (lastFrom < 0) throw new Error("the Dockerfile has no FROM");
  const from = expand(all[lastFrom]!.args.split(/\s+/)[0]!);
  const m = /^(.+?)(\d+)-debian\d+(:[\w.-]+)?$/.exec(from);
  const base = m && BASES[m[1]!];
  if (!m || !base) throw new Error(`unknown base image ${from}: add its config to BASES`);
  const r: Recipe = { entrypoint: base.entrypoint, cmd: [], user: "", workingDir: "/", env: { ...base.env }, exposedPorts: [], files: [...base.files], nodeMajor: Number(m[2]) };
  let cmdSet = false;
  for (const i of all.slice(lastFrom + 1)) {
    const a = expand(i.args);
    if (i.op === "WORKDIR") r.workingDir = posix.resolve(r.workingDir, a);
    else if (i.op === "USER") r.user = a;
    else if (i.op === "CMD") {
      r.cmd = jsonArray(a, "CMD");
      cmdSet = true;
    }
    else if (i.op === "ENTRYPOINT") {
      // A new ENTRYPOINT drops the base image's CMD (not one this stage set), as Docker does.
      r.entrypoint = jsonArray(a, "ENTRYPOINT");
      if (!cmdSet) r.cmd = [];
    }
    else if (i.op === "EXPOSE") r.exposedPorts.push(...a.split(/\s+/).map(port));
    else if (i.op === "ENV") {
      for (const kv of a.match(/\w+=("[^"]*"|\S+)/g) ?? []) {
        const [k, ...v] = kv.split("=");
        r.env[k!] = v.join("=").replace(/^"|"$/g, "");
      }
    } else if (i.op === "COPY" || i.op === "ADD") {
      const parts = a.split(/\s+/).filter((p) => !p.startsWith("--"));
      r.files.push(posix.resolve(r.workingDir, parts.at(-1)!));
    }
  }
  return r;
}

export interface ImageSpec {
  entrypoint: string[];
  cmd: string[];
  user: string;
  workingDir: string;
  env: string[];
  exposedPorts: string[];
  files: string[];
}

const envMap = (env: string[] = []) => Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));

/** The Node version `make deps` installs and tools/image/build.sh puts into the image. */
export function makefileNodeVersion(makefile = readFileSync(join(ROOT, "Makefile"), "utf8")): string {
  const v = /^NODE_VERSION\s*:=\s*(\S+)/m.exec(makefile)?.[1];
  if (!v) throw new Error("the Makefile sets no NODE_VERSION");
  return v;
}

/** tools/image/image.json, with the Node the build script takes from the Makefile. */
export function specRecipe(spec: ImageSpec = JSON.parse(readFileSync(join(ROOT, "tools/image/image.json"), "utf8")) as ImageSpec, nodeVersion = makefileNodeVersion()): Recipe {
  return {
    entrypoint: spec.entrypoint,
    cmd: spec.cmd,
    user: spec.user,
    workingDir: spec.workingDir,
    env: envMap(spec.env),
    exposedPorts: spec.exposedPorts.map(port).sort(),
    files: spec.files,
    nodeMajor: Number(nodeVersion.split(".")[0]),
  };
}

/** A built image's config; files and Node major come from its unpacked root filesystem. */
export function configRecipe(config: ImageConfig, files: string[], nodeMajor: number): Recipe {
  const c = config.config;
  return {
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    user: c.User ?? "",
    workingDir: c.WorkingDir ?? "/",
    env: envMap(c.Env),
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(),
    files,
    nodeMajor,
  };
}

/** Where the image recipe differs from the Dockerfile's; empty when they agree. */
export function disagreements(docker: Recipe, image: Recipe): string[] {
  const out: string[] = [];
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${what}: Dockerfile ${JSON.stringify(a)}, image ${JSON.stringify(b)}`);
  };
  same("entrypoint", docker.entrypoint, image.entrypoint);
  same("cmd", docker.cmd, image.cmd);
  same("user", docker.user, image.user);
  same("workingDir", docker.workingDir, image.workingDir);
  same("env", sortKeys(docker.env), sortKeys(image.env));
  same("exposedPorts", [...docker.exposedPorts].sort(), [...image.exposedPorts].sort());
  same("nodeMajor", docker.nodeMajor, image.nodeMajor);
  for (const f of docker.files) if (!image.files.includes(f)) out.push(`files: the Dockerfile ships ${f}, the image does not`);
  const app = image.workingDir.replace(/\/?$/, "/");
  for (const f of image.files) {
    if (f.startsWith(app) && !docker.files.some((d) => f === d || f.startsWith(`${d}/`))) out.push(`files: the image ships ${f}, the Dockerfile does not`);
  }
  return out;
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
