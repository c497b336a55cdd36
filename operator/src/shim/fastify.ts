// The shim's HTTP layer on Fastify: the same route table (routes.ts), the same
// request steps (createShimCore) and the same answers as the node:http handler,
// with Fastify doing the dispatch, the hook order (admission before the body),
// the body parsing and the error answers. Selected with SMARTOPS_SHIM_HTTP=fastify.
import swagger from "@fastify/swagger";
import { context } from "@opentelemetry/api";
import Fastify, { type FastifyReply, type FastifyRequest, type HTTPMethods } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { Logger } from "../telemetry/logger.ts";
import type { ShimBackend } from "./backend.ts";
import { openApiDocument } from "./openapi.ts";
import type { Answer } from "./results.ts";
import { API_ROUTES, type ApiRoute, PLAIN_ROUTES, type PlainPath } from "./routes.ts";
import { type Admission, createShimCore, HttpError, type RequestTrace, safePath, type ShimConfig, type ShimServer } from "./server.ts";

const METHODS: HTTPMethods[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

interface RequestState {
  t: Readonly<RequestTrace>;
  admission?: Admission;
}

declare module "fastify" {
  interface FastifyRequest {
    shim: RequestState | null;
  }
}

/** A Fastify error (bad URL, content type, …) as the shim's own error answer; anything else as it is. */
function asHttpError(err: unknown): unknown {
  if (err instanceof HttpError || !(err instanceof Error)) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status !== "number" || status < 400 || status >= 500) return err;
  const error = status === 413 ? "PayloadTooLarge" : status === 415 ? "UnsupportedMediaType" : status === 408 ? "RequestTimeout" : "BadRequest";
  return new HttpError(status, error, err.message);
}

export async function startFastifyShim(host: string, port: number, backend: ShimBackend, config: ShimConfig, log: Logger): Promise<ShimServer> {
  const core = createShimCore(backend, config, log);
  const app = Fastify({
    logger: false,
    // The same server bounds as the node:http handler: slow headers are cut, a whole request has a backstop.
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
    requestTimeout: config.headersTimeoutMs + config.bodyTimeoutMs + 10_000,
    keepAliveTimeout: 5_000,
    // Requests on open connections are still answered while draining, as node:http's server.close does.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: (err, _request, reply) => {
      void (reply as FastifyReply).code(400).header("content-type", "application/json").send(JSON.stringify({ error: "BadRequest", message: err.message }));
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, { mode: "static", specification: { document: openApiDocument() as never } });
  app.decorateRequest("shim", null);

  // The body is read by the shim's own bounded reader (size, time, depth), whatever the content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (request, _payload, done) => {
    core.readBody(request.raw).then((body) => done(null, body), (err: Error) => done(err, undefined));
  });

  app.addHook("onRequest", (request, _reply, done) => {
    request.shim = { t: core.begin(request.raw, safePath(request.raw.url)) };
    done();
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    const st = request.shim;
    st?.admission?.release();
    // A body not (fully) received is never drained: the connection is closed after the answer.
    // (A request that announces no body has none to drain, even before node marks it complete.)
    const h = request.raw.headers;
    const bodyless = h["transfer-encoding"] === undefined && (h["content-length"] === undefined || h["content-length"] === "0");
    if (!request.raw.complete && !bodyless) void reply.header("connection", "close");
    if (st) {
      void reply.header("traceparent", st.t.traceparent);
      core.record(request.raw, st.t, reply.statusCode, typeof payload === "string" ? payload : "");
    }
    done(null, payload);
  });
  app.setErrorHandler((err, request, reply) => {
    const f = core.failure(asHttpError(err), request.shim?.t.route ?? "unmatched");
    return reply.code(f.status).headers(f.headers).send(f.payload);
  });
  app.setNotFoundHandler((request) => {
    throw new HttpError(404, "NotFound", `no route ${safePath(request.raw.url)}`);
  });

  const send = (reply: FastifyReply, a: Answer | { raw: string; contentType: string }) =>
    "raw" in a
      ? reply.code(200).header("content-type", a.contentType).send(a.raw)
      : reply.code(a.status).headers({ "content-type": "application/json", ...(a.headers ?? {}) }).send(JSON.stringify(a.body));

  const swaggerDoc = () => app.swagger() as unknown as Record<string, unknown>;
  for (const r of PLAIN_ROUTES) {
    app.get(r.path, async (request, reply) => {
      const a = r.path === "/openapi.json" ? { status: 200, body: swaggerDoc() } : await core.servePlain(request.method, r.path as PlainPath);
      return send(reply, a);
    });
    app.route({ method: METHODS.filter((m) => m !== "GET" && m !== "HEAD"), url: r.path, handler: (request) => core.servePlain(request.method, r.path as PlainPath) });
  }
  for (const r of API_ROUTES as readonly ApiRoute[]) {
    app.route({
      method: r.method,
      url: r.path,
      // Decided from the request line and headers, before Fastify reads a body byte.
      onRequest: async (request) => {
        const st = request.shim!;
        st.admission = await context.with(st.t.context, () => core.admit(request.raw, r));
      },
      handler: async (request: FastifyRequest, reply) => {
        const st = request.shim!;
        try {
          const body = request.body as Record<string, unknown> | undefined;
          if (body === undefined) throw new HttpError(400, "BadRequest", "request body must be a JSON object");
          const a = await context.with(st.t.context, () => core.handle(r, st.admission!, body, request.raw, reply.raw, st.t.traceparent));
          return send(reply, a);
        } finally {
          st.admission?.release();
        }
      },
    });
    app.route({ method: METHODS.filter((m) => m !== r.method), url: r.path, exposeHeadRoute: false, handler: (request) => { throw core.methodNotAllowed(request.method, r); } });
  }

  await app.listen({ host, port });
  const addr = app.server.address();
  return {
    server: app.server,
    port: typeof addr === "object" && addr ? addr.port : port,
    close: async () => {
      core.drain();
      await app.close();
    },
  };
}
