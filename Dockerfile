# syntax=docker/dockerfile:1
# One image for both commands: the operator (default) and the HTTP shim.
#   docker run IMAGE                       # node dist/cmd/operator.js
#   docker run IMAGE dist/cmd/shim.js      # the seed API shim
# Built outside CI (no Docker engine there; see docs/adr/0007-helm-chart.md).

ARG NODE_VERSION=22

# --- build: compile TypeScript to dist/ -------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src operator/src
RUN npm run build

# --- deps: production dependencies only --------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# --- runtime: distroless Node 22, no shell, no package manager, uid 65532 -------------
FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module" for the compiled ESM in dist/.
COPY --from=deps /src/package.json ./package.json
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8080 8000
# The base image's entrypoint is node; the command picks the program.
CMD ["dist/cmd/operator.js"]
