// The Dockerfile and tools/image build the same image: same entrypoint and
// command, user, working directory, environment, ports, shipped files and Node
// major. The built image itself is checked against both in e2e/image.e2e.ts.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { disagreements, dockerfileRecipe, type ImageSpec, makefileNodeVersion, specRecipe } from "./image-recipe.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const spec = JSON.parse(readFileSync(join(ROOT, "tools/image/image.json"), "utf8")) as ImageSpec;

describe("Dockerfile and tools/image agree", () => {
  it("on entrypoint, command, user, environment, ports, files and Node major", () => {
    const docker = dockerfileRecipe(dockerfile);
    expect(docker).toMatchObject({ entrypoint: ["/nodejs/bin/node"], cmd: ["dist/cmd/operator.js"], user: "65532:65532", workingDir: "/app", nodeMajor: 22 });
    expect(docker.files).toEqual(expect.arrayContaining(["/app/package.json", "/app/node_modules", "/app/dist"]));
    expect(disagreements(docker, specRecipe(spec))).toEqual([]);
  });

  it("the image's Node is the one the Makefile installs, at the Dockerfile's major", () => {
    expect(makefileNodeVersion()).toMatch(/^22\.\d+\.\d+$/);
    expect(disagreements(dockerfileRecipe(dockerfile), specRecipe(spec, "20.19.0"))).toEqual(["nodeMajor: Dockerfile 22, image 20"]);
  });

  it("names each field where a changed Dockerfile departs from the image", () => {
    const image = specRecipe(spec);
    const changed = (from: string, to: string) => {
      expect(dockerfile).toContain(from);
      return disagreements(dockerfileRecipe(dockerfile.replace(from, to)), image);
    };
    expect(changed("USER 65532:65532", "USER 1000")).toEqual(['user: Dockerfile "1000", image "65532:65532"']);
    expect(changed('CMD ["dist/cmd/operator.js"]', 'CMD ["dist/cmd/shim.js"]')).toEqual(['cmd: Dockerfile ["dist/cmd/shim.js"], image ["dist/cmd/operator.js"]']);
    expect(changed("ARG NODE_VERSION=22", "ARG NODE_VERSION=24")).toEqual(["nodeMajor: Dockerfile 24, image 22"]);
    expect(changed("WORKDIR /app", "WORKDIR /srv")[0]).toMatch(/^workingDir: Dockerfile "\/srv"/);
    expect(changed("ENV NODE_ENV=production", "ENV NODE_ENV=production NODE_OPTIONS=--max-old-space-size=256")[0]).toMatch(/^env: /);
    expect(changed("EXPOSE 8080 8000", "EXPOSE 8080")[0]).toMatch(/^exposedPorts: /);
    expect(changed("COPY --from=build /src/dist ./dist", "COPY --from=build /src/dist ./lib")).toEqual([
      "files: the Dockerfile ships /app/lib, the image does not",
      "files: the image ships /app/dist, the Dockerfile does not",
      "files: the image ships /app/dist/cmd/operator.js, the Dockerfile does not",
      "files: the image ships /app/dist/cmd/shim.js, the Dockerfile does not",
    ]);
    expect(changed('CMD ["dist/cmd/operator.js"]', 'ENTRYPOINT ["node"]\nCMD ["dist/cmd/operator.js"]')).toEqual(['entrypoint: Dockerfile ["node"], image ["/nodejs/bin/node"]']);
  });

  it("names each field where image.json departs from the Dockerfile", () => {
    const docker = dockerfileRecipe(dockerfile);
    expect(disagreements(docker, specRecipe({ ...spec, user: "0:0" }))).toEqual(['user: Dockerfile "65532:65532", image "0:0"']);
    expect(disagreements(docker, specRecipe({ ...spec, env: spec.env.filter((e) => !e.startsWith("NODE_ENV=")) }))[0]).toMatch(/^env: /);
    expect(disagreements(docker, specRecipe({ ...spec, files: spec.files.filter((f) => f !== "/app/node_modules") }))).toEqual(["files: the Dockerfile ships /app/node_modules, the image does not"]);
  });

  it("refuses a base image whose config it does not know", () => {
    expect(() => dockerfileRecipe("FROM node:22-bookworm-slim\nCMD [\"x\"]\n")).toThrow(/unknown base image node:22-bookworm-slim/);
  });
});
