// A minimal OTLP trace receiver on loopback, for one of the three protocols an
// exporter may speak (OTEL_EXPORTER_OTLP_PROTOCOL): `http/json` and
// `http/protobuf` (POST <endpoint>/v1/traces, optionally gzip) on an HTTP server,
// `grpc` (TraceService/Export) on a real gRPC server. Each receiver accepts only
// its own protocol and records anything else as an error, so a test proves which
// protocol the exporter chose. Requests are decoded into flat spans with their
// service name and plain attribute values; protobuf is decoded with protobufjs
// from the subset of the OTLP schema declared below, independently of the
// serializer the exporters use.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { Server as GrpcServer, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import protobuf from "protobufjs";

export const OTLP_PROTOCOLS = ["grpc", "http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface ReceivedSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  statusCode: number;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
/** ExportTraceServiceRequest as OTLP/JSON writes it (ids in hex); protobuf is decoded into the same shape. */
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { name: string; kind: number; traceId: string; spanId: string; parentSpanId?: string; attributes?: OtlpAttribute[]; status?: { code?: number } }[] }[];
  }[];
}

/** SpanKind as OTLP numbers it. */
export const OTLP_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

// The fields of opentelemetry/proto/{collector/trace,trace,resource,common}/v1
// that the receiver reads, with their field numbers; protobufjs skips the rest
// (times, events, links, scope).
const OTLP_SCHEMA = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: { fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } } },
        ResourceSpans: { fields: { resource: { type: "Resource", id: 1 }, scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 } } },
        Resource: { fields: { attributes: { rule: "repeated", type: "KeyValue", id: 1 } } },
        ScopeSpans: { fields: { spans: { rule: "repeated", type: "Span", id: 2 } } },
        Span: {
          fields: {
            traceId: { type: "bytes", id: 1 },
            spanId: { type: "bytes", id: 2 },
            parentSpanId: { type: "bytes", id: 4 },
            name: { type: "string", id: 5 },
            kind: { type: "int32", id: 6 },
            attributes: { rule: "repeated", type: "KeyValue", id: 9 },
            status: { type: "Status", id: 15 },
          },
        },
        Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
        KeyValue: { fields: { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } } },
        AnyValue: {
          oneofs: { value: { oneof: ["stringValue", "boolValue", "intValue", "doubleValue", "arrayValue"] } },
          fields: {
            stringValue: { type: "string", id: 1 },
            boolValue: { type: "bool", id: 2 },
            intValue: { type: "int64", id: 3 },
            doubleValue: { type: "double", id: 4 },
            arrayValue: { type: "ArrayValue", id: 5 },
          },
        },
        ArrayValue: { fields: { values: { rule: "repeated", type: "AnyValue", id: 1 } } },
      },
    },
  },
});
const ExportTraceServiceRequest = OTLP_SCHEMA.lookupType("otlp.ExportTraceServiceRequest");

/** Binary ExportTraceServiceRequest → the OTLP/JSON shape (ids as hex, as OTLP/JSON writes them). */
export function decodeTraceRequest(bytes: Uint8Array): OtlpRequest {
  const request = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), { longs: String }) as OtlpRequest;
  const hex = (id: unknown) => (id instanceof Uint8Array ? Buffer.from(id).toString("hex") : undefined);
  for (const span of (request.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? [])) {
    span.traceId = hex(span.traceId) ?? "";
    span.spanId = hex(span.spanId) ?? "";
    span.parentSpanId = hex(span.parentSpanId);
  }
  return request;
}

function plain(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}

const attributes = (list: OtlpAttribute[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));

/** Flattens one export request into spans. */
export function spansOf(body: OtlpRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service, name: s.name, kind: s.kind, traceId: s.traceId, spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined, attributes: attributes(s.attributes), statusCode: s.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

export interface OtlpReceiver {
  protocol: OtlpProtocol;
  /** What OTEL_EXPORTER_OTLP_ENDPOINT is set to: http://127.0.0.1:<port> (for HTTP, the exporter appends /v1/traces). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests received and decoded, in this receiver's protocol. */
  exports: number;
  /** Requests that could not be decoded or came in another protocol (should stay empty). */
  errors: string[];
  close(): Promise<void>;
}

const CONTENT_TYPE: Record<Exclude<OtlpProtocol, "grpc">, string> = { "http/json": "application/json", "http/protobuf": "application/x-protobuf" };

export interface ReceiverOptions {
  /** PEM key and certificate: the gRPC receiver serves TLS (endpoint https://) instead of plaintext. */
  tls?: { key: Buffer; cert: Buffer };
}

/** Starts a receiver for `protocol`; the default is the one the processes use when OTEL_EXPORTER_OTLP_PROTOCOL is unset. */
export async function startOtlpReceiver(protocol: OtlpProtocol = "http/protobuf", opts: ReceiverOptions = {}): Promise<OtlpReceiver> {
  if (protocol === "grpc") return startGrpcReceiver(opts);
  if (opts.tls) throw new Error("TLS is implemented for the gRPC receiver only");
  return startHttpReceiver(protocol);
}

async function startHttpReceiver(protocol: Exclude<OtlpProtocol, "grpc">): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { protocol, endpoint: "", spans: [], exports: 0, errors: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        if (req.method !== "POST" || req.url !== "/v1/traces") throw new Error(`unexpected ${req.method} ${req.url}`);
        const type = String(req.headers["content-type"]);
        if (!type.startsWith(CONTENT_TYPE[protocol])) throw new Error(`unexpected content-type ${type} for ${protocol}`);
        const raw = Buffer.concat(chunks);
        const bytes = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        const body = protocol === "http/json" ? (JSON.parse(bytes.toString("utf8")) as OtlpRequest) : decodeTraceRequest(bytes);
        receiver.spans.push(...spansOf(body));
        receiver.exports += 1;
        // An empty ExportTraceServiceResponse: full success.
        if (protocol === "http/json") res.writeHead(200, { "content-type": "application/json" }).end("{}");
        else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } catch (err) {
        receiver.errors.push(err instanceof Error ? err.message : String(err));
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise<void>((r) => server.close(() => r()));
  return receiver;
}

async function startGrpcReceiver({ tls }: ReceiverOptions): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { protocol: "grpc", endpoint: "", spans: [], exports: 0, errors: [], close: async () => undefined };
  const server = new GrpcServer();
  server.addService(
    {
      Export: {
        path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
        try {
          receiver.spans.push(...spansOf(decodeTraceRequest(call.request)));
          receiver.exports += 1;
          done(null, Buffer.alloc(0));
        } catch (err) {
          receiver.errors.push(err instanceof Error ? err.message : String(err));
          done({ code: GrpcStatus.INVALID_ARGUMENT, details: String(err) });
        }
      },
    },
  );
  const credentials = tls ? ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))));
  receiver.endpoint = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  receiver.close = () => new Promise<void>((r) => server.tryShutdown(() => r()));
  return receiver;
}
