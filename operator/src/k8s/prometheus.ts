// The Prometheus HTTP API client of the metric checks (remediation/metric-check.ts):
// instant queries only. Every failure is a PrometheusError (an HTTP error, a
// Prometheus `status: "error"` answer, an answer that is not Prometheus's, a
// timeout, an unreachable server); nothing else is thrown. The bearer token is
// sent in the Authorization header only: it is kept in a private field, never in a
// message, and any echo of it in an answer is cut out of the error.
import { accessSync, constants } from "node:fs";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { type MetricCheck, MetricCheckError, type MetricReading, type QueryResult, type QueryVars, readQueryResult, renderQuery } from "../remediation/metric-check.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;
/** The largest answer read: an instant query meant to give one number has no business being larger. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** The most of Prometheus's (or a proxy's) error text that is repeated. */
const MAX_ERROR_CHARS = 500;

/**
 * `errorType` is Prometheus's own (bad_data, execution, timeout, canceled,
 * internal, unavailable, not_found) when it answered with `status: "error"`;
 * otherwise ours: `http` (an HTTP error that is not a Prometheus answer, a
 * redirect), `bad_response` (not JSON, or not the shape of a query answer),
 * `timeout` with status 0 (no answer in time), `unreachable` (no connection),
 * `config` (the bearer token file cannot be read).
 */
export class PrometheusError extends Error {
  /** The HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  readonly errorType: string;
  constructor(status: number, errorType: string, message: string) {
    super(message);
    this.name = "PrometheusError";
    this.status = status;
    this.errorType = errorType;
  }
}

export interface PrometheusClientOptions {
  /** The server's base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  bearerToken?: string;
  /** A file holding the bearer token, read at each query (projected ServiceAccount tokens rotate). */
  bearerTokenFile?: string;
  /** Per query, for the whole answer; also sent as the query's `timeout` so Prometheus stops too. Default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const sampleValue = z.tuple([z.number(), z.string()]);
const labels = z.record(z.string(), z.string());
const queryData = z.discriminatedUnion("resultType", [
  z.object({
    resultType: z.literal("vector"),
    result: z.array(
      z
        .object({ metric: labels, value: sampleValue.optional(), histogram: z.tuple([z.number(), z.unknown()]).optional() })
        .refine((s) => (s.value === undefined) !== (s.histogram === undefined), "a sample has either a value or a histogram"),
    ),
  }),
  z.object({ resultType: z.literal("scalar"), result: sampleValue }),
  z.object({ resultType: z.literal("string"), result: sampleValue }),
  z.object({ resultType: z.literal("matrix"), result: z.array(z.object({ metric: labels })) }),
]);
const answer = z.discriminatedUnion("status", [
  z.object({ status: z.literal("success"), data: queryData, warnings: z.array(z.string()).optional() }),
  z.object({ status: z.literal("error"), errorType: z.string().default("unknown"), error: z.string().default("") }),
]);

/** The URL without user:password, query or fragment: what may be shown. */
function displayUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** Why a base URL cannot be used, or undefined. */
export function urlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "must be an absolute http(s) URL, e.g. http://prometheus.monitoring:9090";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "must be an http(s) URL, e.g. http://prometheus.monitoring:9090";
  if (u.username || u.password) return "must not carry user:password; use a bearer token file";
  if (u.search || u.hash) return "must not carry a query or fragment";
  return undefined;
}

function causeText(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}

const isTimeout = (e: unknown) => e instanceof Error && (e.name === "TimeoutError" || (e.cause instanceof Error && e.cause.name === "TimeoutError"));

export class PrometheusClient {
  readonly url: string;
  readonly timeoutMs: number;
  readonly #endpoint: string;
  readonly #token: string | undefined;
  readonly #tokenFile: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: PrometheusClientOptions) {
    const problem = urlProblem(options.url);
    if (problem) throw new PrometheusError(0, "config", `Prometheus URL ${problem}`);
    const u = new URL(options.url);
    this.url = displayUrl(u);
    this.#endpoint = `${this.url}/api/v1/query`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new PrometheusError(0, "config", "the Prometheus timeout must be positive");
    this.#token = options.bearerToken || undefined;
    this.#tokenFile = options.bearerTokenFile || undefined;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * GET /api/v1/query at `at` (default: Prometheus's now). Resolves with the
   * answer's data (and warnings); rejects only with a PrometheusError.
   */
  async instantQuery(query: string, at?: Date): Promise<QueryResult> {
    const token = await this.#bearerToken();
    const params = new URLSearchParams({ query, timeout: String(this.timeoutMs / 1000) });
    if (at) params.set("time", (at.getTime() / 1000).toFixed(3));
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const clean = (text: string) => this.#clean(text, token);

    let status: number;
    let body: string;
    try {
      const res = await this.#fetch(`${this.#endpoint}?${params}`, { headers, redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs) });
      status = res.status;
      body = await readBounded(res);
    } catch (e) {
      if (e instanceof PrometheusError) throw e;
      if (isTimeout(e)) throw new PrometheusError(0, "timeout", `Prometheus at ${this.url} gave no answer within ${this.timeoutMs} ms`);
      throw new PrometheusError(0, "unreachable", clean(`Prometheus at ${this.url} is unreachable: ${causeText(e)}`));
    }

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      if (status < 200 || status > 299) throw this.#httpError(status, body, clean);
      throw new PrometheusError(status, "bad_response", clean(`Prometheus at ${this.url} answered ${status} with a body that is not JSON: ${body.slice(0, 100)}`));
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) {
      if (status < 200 || status > 299) throw this.#httpError(status, body, clean);
      const issue = parsed.error.issues[0]!;
      throw new PrometheusError(status, "bad_response", clean(`Prometheus at ${this.url} answered ${status} with something other than a query answer: ${issue.path.join(".") || "(root)"}: ${issue.message}`));
    }
    const a = parsed.data;
    if (a.status === "error") throw new PrometheusError(status, a.errorType, clean(`Prometheus answered ${status} ${a.errorType}: ${a.error}`));
    if (status < 200 || status > 299) throw this.#httpError(status, body, clean);
    // Typed as the pure code's QueryResult: the schema and that type cannot drift apart.
    const data: QueryResult = a.warnings?.length ? { ...a.data, warnings: a.warnings } : a.data;
    return data;
  }

  async #bearerToken(): Promise<string | undefined> {
    if (!this.#tokenFile) return this.#token;
    try {
      return (await readFile(this.#tokenFile, "utf8")).trim() || undefined;
    } catch (e) {
      throw new PrometheusError(0, "config", `cannot read the Prometheus bearer token file ${this.#tokenFile}: ${(e as NodeJS.ErrnoException).code ?? causeText(e)}`);
    }
  }

  #httpError(status: number, body: string, clean: (t: string) => string): PrometheusError {
    const hint = status >= 300 && status < 400 ? " (redirects are not followed: configure the final address)" : "";
    const text = body.trim() ? `: ${body.trim().slice(0, 200)}` : "";
    return new PrometheusError(status, "http", clean(`Prometheus at ${this.url} answered HTTP ${status}${hint}${text}`));
  }

  /** Control characters flattened (no forged log lines), the token cut out, the length bounded. */
  #clean(text: string, token: string | undefined): string {
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    let t = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
    if (token) t = t.split(token).join("[redacted]");
    return t.length > MAX_ERROR_CHARS ? `${t.slice(0, MAX_ERROR_CHARS - 1)}…` : t;
  }
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new PrometheusError(res.status, "bad_response", `the answer is larger than ${MAX_RESPONSE_BYTES} bytes; aggregate the query to one series`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * One measurement of a check for an action: the query rendered with the
 * action's names and asked at `at`, reduced to one number. Never throws: a
 * query that cannot be rendered or asked is an `error` reading with the reason.
 */
export async function measureCheck(client: PrometheusClient, check: MetricCheck, vars: QueryVars, at?: Date): Promise<MetricReading> {
  let query: string;
  try {
    query = renderQuery(check.query, vars);
  } catch (e) {
    if (e instanceof MetricCheckError) return { kind: "error", message: e.message };
    throw e;
  }
  try {
    return readQueryResult(await client.instantQuery(query, at));
  } catch (e) {
    if (e instanceof PrometheusError) return { kind: "error", message: e.message };
    throw e;
  }
}

/** Treats an empty variable (a chart leaving it blank) as unset. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/**
 * The operator's Prometheus configuration, to spread into its environment
 * schema. Without SMARTOPS_PROMETHEUS_URL metric checks are not evaluated.
 */
export const prometheusEnv = {
  SMARTOPS_PROMETHEUS_URL: unsetIfEmpty(z.string().superRefine((v, ctx) => {
    const problem = urlProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })),
  SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE: unsetIfEmpty(z.string().refine((path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }, "must name a readable file (the bearer token sent to Prometheus)")),
};

export interface PrometheusEnv {
  SMARTOPS_PROMETHEUS_URL?: string | undefined;
  SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE?: string | undefined;
}

/** The client the environment configures, or undefined when no URL is set (the token file alone is ignored). */
export function prometheusClientFromEnv(e: PrometheusEnv, fetchImpl?: typeof fetch): PrometheusClient | undefined {
  if (!e.SMARTOPS_PROMETHEUS_URL) return undefined;
  return new PrometheusClient({ url: e.SMARTOPS_PROMETHEUS_URL, bearerTokenFile: e.SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE, fetch: fetchImpl });
}
