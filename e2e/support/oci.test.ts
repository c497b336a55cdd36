// The layout reader and layer unpacker of e2e/support/oci.ts on a layout made
// here with tar: layers stack bottom first, whiteouts delete, opaque
// directories hide what lower layers put in them, owners survive, and a blob
// that does not match its digest is refused.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readImage, unpack } from "./oci.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "oci-test-"));
  dirs.push(d);
  return d;
}

function writeBlob(layout: string, data: Buffer | string) {
  const buf = Buffer.from(data);
  const hex = createHash("sha256").update(buf).digest("hex");
  writeFileSync(join(layout, "blobs/sha256", hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

/** A layout whose image has one layer per tree (path → content; null makes a directory). */
function makeLayout(layers: Array<{ files: Record<string, string | null>; owner?: string }>, ref = "t") {
  const layout = tmp();
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  const descriptors = layers.map(({ files, owner }) => {
    const src = tmp();
    chmodSync(src, 0o755);
    for (const [path, content] of Object.entries(files)) {
      if (content === null) mkdirSync(join(src, path), { recursive: true });
      else {
        mkdirSync(join(src, path, ".."), { recursive: true });
        writeFileSync(join(src, path), content);
      }
    }
    const owners = owner ? [`--owner=${owner.split(":")[0]}`, `--group=${owner.split(":")[1]}`] : ["--owner=0", "--group=0"];
    const gz = execFileSync("tar", ["-cz", "--numeric-owner", ...owners, "-C", src, "."]);
    return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...writeBlob(layout, gz) };
  });
  const config = writeBlob(layout, JSON.stringify({ architecture: "amd64", os: "linux", config: { Entrypoint: ["/bin/x"] }, rootfs: { type: "layers", diff_ids: descriptors.map((d) => d.digest) } }));
  const manifest = writeBlob(layout, JSON.stringify({ schemaVersion: 2, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descriptors }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": ref } }] }));
  return { layout, descriptors };
}

describe("OCI layout unpacking", () => {
  it("stacks layers bottom first and applies whiteouts and opaque directories", () => {
    const { layout } = makeLayout([
      { files: { "etc/a": "lower", "gone-file": "x", "gone-dir/deep/f": "x", "keep/old": "old", "other/stays": "s" } },
      { files: { "etc/a": "upper", ".wh.gone-file": "", ".wh.gone-dir": "", "keep/.wh..wh..opq": "", "keep/new": "new", "other/.wh.absent": "" } },
    ]);
    const image = readImage(layout, "t");
    expect(image.config.config.Entrypoint).toEqual(["/bin/x"]);
    const root = tmp();
    unpack(image, root);
    expect(readFileSync(join(root, "etc/a"), "utf8")).toBe("upper");
    expect(existsSync(join(root, "gone-file"))).toBe(false);
    expect(existsSync(join(root, "gone-dir"))).toBe(false);
    expect(readdirSync(join(root, "keep"))).toEqual(["new"]);
    expect(readdirSync(join(root, "other"))).toEqual(["stays"]);
    expect(statSync(root).mode & 0o777).toBe(0o755);
  });

  it("keeps the layer's numeric owners", () => {
    const { layout } = makeLayout([{ files: { "home/nonroot/f": "x" }, owner: "65532:65532" }]);
    const root = tmp();
    unpack(readImage(layout), root);
    const st = statSync(join(root, "home/nonroot/f"));
    expect([st.uid, st.gid]).toEqual([65532, 65532]);
  });

  it("refuses a layer whose bytes do not match its digest", () => {
    const { layout, descriptors } = makeLayout([{ files: { a: "x" } }]);
    const blob = join(layout, "blobs/sha256", descriptors[0]!.digest.slice("sha256:".length));
    const bytes = readFileSync(blob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(blob, bytes);
    expect(() => unpack(readImage(layout), tmp())).toThrow(/has digest sha256:/);
  });

  it("names the ref it could not find", () => {
    const { layout } = makeLayout([{ files: { a: "x" } }], "dev");
    expect(() => readImage(layout, "prod")).toThrow(/0 manifests match prod/);
  });
});
