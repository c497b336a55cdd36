// FakeKubeApi: an in-memory API server behind the KubeApi interface, for unit
// tests of controllers. It keeps the semantics controllers rely on:
//
// - resourceVersion: one global counter (strings; tests must only compare them for
//   equality), bumped by every stored write; a replace or patch whose object
//   carries a resourceVersion other than the stored one is refused 409 Conflict —
//   the optimistic-concurrency guard of status writes and guarded mutations.
// - create sets uid (uid-1, uid-2 …), resourceVersion, creationTimestamp (from the
//   injectable clock) and generation 1; a duplicate is 409 AlreadyExists.
// - generation is bumped when anything outside metadata and status changes.
// - the status subresource: on the resources that have one (Deployments,
//   ReplicaSets, Pods and our four kinds) a write of the main resource keeps the
//   stored status and a write of "status" changes only the status; create drops
//   the status, as the API server does.
// - our four kinds are validated by their zod schemas on every write (spec on the
//   main resource, status on the status subresource), with the defaults applied as
//   CRD defaulting does; an invalid object is 422 Invalid naming the fields.
// - patch: "merge" is RFC 7386; "strategic" is treated as a merge patch (a
//   simplification: lists are replaced whole, no patchMergeKey, no $patch
//   directives); "json" is RFC 6902 (add, remove, replace, move, copy, test), an
//   operation that does not apply (a failed test, a missing path) is 422 Invalid.
// - dryRun answers the object that would be stored and stores nothing.
// - eviction: create(PODS, ns, eviction, {subresource: "eviction"}) deletes the
//   pod the body names, honouring deleteOptions.preconditions.uid (409), 404 when
//   it is gone. No PodDisruptionBudgets: inject a 429 with failNext.
// - no watches: informer caches are fed directly in unit tests (controllers/testing).
//
// Every call is logged (calls), failed ones with their error, and every object
// returned is a deep copy, so a caller can never change what is stored.
import { KINDS } from "../../api/v1alpha1/kinds.ts";
import { validate } from "../../api/v1alpha1/validation.ts";
import { jsonEqual } from "../../remediation/change.ts";
import type { CallOptions, KubeApi, ListQuery, ObjectList, PatchType, Preconditions, WatchQuery, WatchStream, WriteOptions } from "../api.ts";
import { KubeApiError } from "../errors.ts";
import type { Resource } from "../resources.ts";

export type FakeVerb = "get" | "list" | "create" | "replace" | "patch" | "delete";

export interface FakeCall {
  verb: FakeVerb;
  /** The resource's plural (deployments, remediationactions …). */
  resource: string;
  namespace: string | undefined;
  /** The object's name; "" for list; for create the name stored (generateName resolved) or sent. */
  name: string;
  subresource?: string;
  dryRun: boolean;
  patchType?: PatchType;
  /** A deep copy of the body sent (create, replace, patch). */
  body?: unknown;
  /** Set when the call failed: what the caller got back. */
  error?: { status: number; reason: string };
}

export interface FailMatch {
  verb?: FakeVerb;
  resource?: Resource;
  subresource?: string;
  dryRun?: boolean;
  namespace?: string;
  name?: string;
}

export interface FakeKubeApiOptions {
  /** The clock of creationTimestamp (milliseconds since the epoch). */
  now?: () => number;
}

type Json = Record<string, unknown>;
interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [k: string]: unknown;
}
type Obj = Json & { metadata?: Meta; status?: unknown };

/** A KubeApiError as the API server would answer it (status code, Status reason, message). */
export function apiError(status: number, reason: string, message = `${reason} (injected)`, retryAfterSeconds?: number): KubeApiError {
  return new KubeApiError("fake", status, { kind: "Status", status: "Failure", code: status, reason, message }, retryAfterSeconds);
}

/** Resources whose status is a subresource: a main write keeps it, a status write changes only it. */
const WITH_STATUS = new Set(["apps/v1/deployments", "apps/v1/replicasets", "v1/pods", ...KINDS.map((k) => `smartops.io/v1alpha1/${k.plural}`)]);
const KIND_BY_RESOURCE = new Map(KINDS.map((k) => [`smartops.io/v1alpha1/${k.plural}`, k]));

const resourceKey = (r: Resource) => `${r.apiVersion}/${r.plural}`;
/** How the API server names a resource in messages: deployments.apps, pods, remediationactions.smartops.io. */
const groupResource = (r: Resource) => (r.apiVersion.includes("/") ? `${r.plural}.${r.apiVersion.split("/")[0]}` : r.plural);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

interface Failure {
  match: FailMatch;
  err: KubeApiError;
  left: number;
}

interface Request {
  verb: FakeVerb;
  r: Resource;
  namespace: string | undefined;
  name: string;
  o?: WriteOptions;
  patchType?: PatchType;
  body?: unknown;
}

export class FakeKubeApi implements KubeApi {
  /** Every call made, in order, failed ones included (with error). */
  readonly calls: FakeCall[] = [];
  private readonly store = new Map<string, Map<string, Obj>>();
  private readonly failures: Failure[] = [];
  private readonly now: () => number;
  private version = 0;
  private uids = 0;
  private names = 0;

  constructor(options: FakeKubeApiOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  // ---- test controls (not logged) ----

  /**
   * Puts an object in the store as it is, without logging a write: uid,
   * resourceVersion, creationTimestamp and generation are filled in only when
   * missing. Replaces an object of the same name. Returns the stored copy.
   */
  seed<T>(r: Resource, obj: T): T {
    const o = clone(obj) as Obj;
    const m: Meta = (o.metadata ??= {});
    if (!m.name) throw new Error("seed: metadata.name is required");
    if (r.namespaced && !m.namespace) throw new Error(`seed: metadata.namespace is required for ${r.plural}`);
    m.uid ??= this.nextUid();
    m.generation ??= 1;
    m.creationTimestamp ??= new Date(this.now()).toISOString();
    if (m.resourceVersion === undefined) m.resourceVersion = this.nextVersion();
    else if (/^\d+$/.test(m.resourceVersion)) this.version = Math.max(this.version, Number(m.resourceVersion));
    this.bucket(r).set(this.key(r, m.namespace, m.name), o);
    return clone(o) as T;
  }

  /** The stored object, or undefined; not logged. */
  stored<T>(r: Resource, namespace: string | undefined, name: string): T | undefined {
    const o = this.bucket(r).get(this.key(r, namespace, name));
    return o === undefined ? undefined : (clone(o) as T);
  }

  /** Everything stored of a resource (in a namespace, or all), sorted by namespace and name; not logged. */
  storedAll<T>(r: Resource, namespace?: string): T[] {
    return this.select(r, namespace).map((o) => clone(o) as T);
  }

  /**
   * Another client's write: `change` edits a copy of the stored object, which is
   * stored with a new resourceVersion (generation bumped when the spec changed).
   * Not logged. Throws when the object does not exist.
   */
  mutate<T>(r: Resource, namespace: string | undefined, name: string, change: (obj: T) => void): T {
    const before = this.bucket(r).get(this.key(r, namespace, name));
    if (!before) throw new Error(`mutate: ${groupResource(r)} ${namespace}/${name} does not exist`);
    const after = clone(before);
    change(after as T);
    return clone(this.put(r, before, after)) as T;
  }

  /** Deletes an object (another client's delete); not logged. True when it existed. */
  remove(r: Resource, namespace: string | undefined, name: string): boolean {
    return this.bucket(r).delete(this.key(r, namespace, name));
  }

  /** The next `times` calls matching `match` fail with `err` and change nothing. */
  failNext(match: FailMatch, err: KubeApiError, times = 1): void {
    this.failures.push({ match, err, left: times });
  }

  /** The non-dry-run create, replace and patch calls (attempts: failed ones included, with error). */
  writes(): FakeCall[] {
    return this.calls.filter((c) => c.verb !== "get" && c.verb !== "list" && !c.dryRun);
  }

  /** Clears the call log (the store and pending failures stay). */
  reset(): void {
    this.calls.length = 0;
  }

  // ---- KubeApi ----

  get<T>(r: Resource, namespace: string | undefined, name: string, _o?: CallOptions): Promise<T> {
    return this.run({ verb: "get", r, namespace, name }, () => clone(this.existing(r, namespace, name, "get")) as T);
  }

  list<T>(r: Resource, namespace: string | undefined, query: ListQuery = {}, _o?: CallOptions): Promise<ObjectList<T>> {
    return this.run({ verb: "list", r, namespace, name: "" }, () => {
      const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : [];
      const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector) : [];
      const items = this.select(r, namespace).filter((o) => labels.every((req) => req(o.metadata?.labels ?? {})) && fields.every((req) => req(o)));
      return { apiVersion: r.apiVersion, kind: "List", metadata: { resourceVersion: String(this.version) }, items: items.map((o) => clone(o) as T) };
    });
  }

  watch<T>(r: Resource, _namespace: string | undefined, _query: WatchQuery, _o?: CallOptions): Promise<WatchStream<T>> {
    return Promise.reject(new Error(`FakeKubeApi has no watches (watch ${r.plural}): feed the informer caches directly in unit tests`));
  }

  create<T>(r: Resource, namespace: string | undefined, body: unknown, o?: WriteOptions): Promise<T> {
    const name = (isObject(body) && isObject(body.metadata) && typeof body.metadata.name === "string" ? body.metadata.name : "");
    const req: Request = { verb: "create", r, namespace, name, o, body };
    if (o?.subresource === "eviction") return this.run(req, () => this.evict(r, namespace, body, o) as T);
    if (o?.subresource) return this.run(req, () => { throw this.error(req, 404, "NotFound", `the server could not find the requested resource (post ${r.plural} ${o.subresource})`); });
    return this.run(req, () => {
      if (!isObject(body)) throw this.error(req, 400, "BadRequest", "the body is not an object");
      const obj = clone(body) as Obj;
      const m: Meta = (obj.metadata ??= {});
      this.checkNamespace(req, m, namespace);
      if (r.namespaced) m.namespace = namespace;
      if (!m.name && m.generateName) m.name = `${m.generateName}${(++this.names).toString(36).padStart(5, "0")}`;
      if (!m.name) throw this.error(req, 422, "Invalid", "metadata.name: Required value: name or generateName is required", ["metadata.name"]);
      req.name = m.name;
      if (this.bucket(r).has(this.key(r, namespace, m.name))) throw this.error(req, 409, "AlreadyExists", `${groupResource(r)} "${m.name}" already exists`);
      if (WITH_STATUS.has(resourceKey(r))) delete obj.status;
      this.validated(req, obj, false);
      m.uid = this.peekUid();
      m.generation = 1;
      m.creationTimestamp = new Date(this.now()).toISOString();
      m.resourceVersion = this.peekVersion();
      if (!o?.dryRun) {
        this.nextUid();
        this.nextVersion();
        this.bucket(r).set(this.key(r, namespace, m.name), obj);
      }
      return clone(obj) as T;
    });
  }

  replace<T>(r: Resource, namespace: string | undefined, name: string, body: unknown, o?: WriteOptions): Promise<T> {
    const req: Request = { verb: "replace", r, namespace, name, o, body };
    return this.run(req, () => {
      if (!isObject(body)) throw this.error(req, 400, "BadRequest", "the body is not an object");
      const m: Meta = isObject(body.metadata) ? (body.metadata as Meta) : {};
      this.checkNamespace(req, m, namespace);
      if (m.name !== undefined && m.name !== name) throw this.error(req, 400, "BadRequest", `the name of the object (${m.name}) does not match the name on the URL (${name})`);
      const before = this.existing(r, namespace, name, "replace", req);
      this.checkPreconditions(req, before, m);
      const after = this.subresourceWrite(req, before, clone(body) as Obj);
      return clone(o?.dryRun ? this.preview(req, before, after) : this.put(r, before, after, req)) as T;
    });
  }

  delete(r: Resource, namespace: string | undefined, name: string, preconditions: Preconditions, _o?: CallOptions): Promise<void> {
    const req: Request = { verb: "delete", r, namespace, name, body: { preconditions } };
    return this.run(req, () => {
      const before = this.existing(r, namespace, name, "delete", req);
      this.checkPreconditions(req, before, { ...preconditions });
      this.bucket(r).delete(this.key(r, namespace, name));
    });
  }

  patch<T>(r: Resource, namespace: string | undefined, name: string, type: PatchType, body: unknown, o?: WriteOptions): Promise<T> {
    const req: Request = { verb: "patch", r, namespace, name, o, patchType: type, body };
    return this.run(req, () => {
      const before = this.existing(r, namespace, name, "patch", req);
      let patched: unknown;
      if (type === "json") {
        patched = applyJsonPatch(before, body, (status, reason, message) => this.error(req, status, reason, message));
      } else {
        if (!isObject(body)) throw this.error(req, 400, "BadRequest", `a ${type} patch must be a JSON object`);
        patched = mergePatch(before, body);
      }
      if (!isObject(patched)) throw this.error(req, 422, "Invalid", "the patched object is not an object");
      const m: Meta = isObject(patched.metadata) ? (patched.metadata as Meta) : {};
      // A resourceVersion in the patched object is a precondition, as on the API server.
      this.checkPreconditions(req, before, m);
      const after = this.subresourceWrite(req, before, patched as Obj);
      return clone(o?.dryRun ? this.preview(req, before, after) : this.put(r, before, after, req)) as T;
    });
  }

  // ---- internals ----

  private async run<T>(req: Request, act: () => T): Promise<T> {
    const call: FakeCall = {
      verb: req.verb,
      resource: req.r.plural,
      namespace: req.namespace,
      name: req.name,
      ...(req.o?.subresource ? { subresource: req.o.subresource } : {}),
      dryRun: req.o?.dryRun === true,
      ...(req.patchType ? { patchType: req.patchType } : {}),
      ...(req.body !== undefined ? { body: clone(req.body) } : {}),
    };
    this.calls.push(call);
    // A real client never answers synchronously; neither does the fake.
    await Promise.resolve();
    try {
      const injected = this.takeFailure(req);
      if (injected) throw injected;
      const out = act();
      call.name = req.name;
      return out;
    } catch (err) {
      if (err instanceof KubeApiError) call.error = { status: err.status, reason: err.reason };
      throw err;
    }
  }

  private takeFailure(req: Request): KubeApiError | undefined {
    const f = this.failures.find(({ match: m, left }) =>
      left > 0 &&
      (m.verb === undefined || m.verb === req.verb) &&
      (m.resource === undefined || resourceKey(m.resource) === resourceKey(req.r)) &&
      (m.subresource === undefined || m.subresource === req.o?.subresource) &&
      (m.dryRun === undefined || m.dryRun === (req.o?.dryRun === true)) &&
      (m.namespace === undefined || m.namespace === req.namespace) &&
      (m.name === undefined || m.name === req.name));
    if (!f) return undefined;
    f.left--;
    if (f.left === 0) this.failures.splice(this.failures.indexOf(f), 1);
    return f.err;
  }

  private error(req: Request, status: number, reason: string, message: string, fields: string[] = []): KubeApiError {
    const op = `${req.o?.dryRun ? "dryrun_" : ""}${req.verb}_${req.r.singular}${req.o?.subresource ? `_${req.o.subresource}` : ""}`;
    const details = fields.length > 0 ? { causes: fields.map((field) => ({ field, reason: "FieldValueInvalid" })) } : undefined;
    return new KubeApiError(op, status, { kind: "Status", status: "Failure", code: status, reason, message, ...(details ? { details } : {}) });
  }

  private bucket(r: Resource): Map<string, Obj> {
    const k = resourceKey(r);
    let b = this.store.get(k);
    if (!b) this.store.set(k, (b = new Map()));
    return b;
  }

  private key(r: Resource, namespace: string | undefined, name: string): string {
    return `${r.namespaced ? (namespace ?? "") : ""}/${name}`;
  }

  private select(r: Resource, namespace: string | undefined): Obj[] {
    return [...this.bucket(r).entries()]
      .filter(([, o]) => !r.namespaced || namespace === undefined || o.metadata?.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  private existing(r: Resource, namespace: string | undefined, name: string, verb: FakeVerb, req?: Request): Obj {
    const o = this.bucket(r).get(this.key(r, namespace, name));
    if (!o) throw this.error(req ?? { verb, r, namespace, name }, 404, "NotFound", `${groupResource(r)} "${name}" not found`);
    return o;
  }

  private checkNamespace(req: Request, m: Meta, namespace: string | undefined): void {
    if (req.r.namespaced && m.namespace !== undefined && m.namespace !== namespace) {
      throw this.error(req, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
  }

  private checkPreconditions(req: Request, before: Obj, m: Meta): void {
    const stored = before.metadata!;
    if (m.uid !== undefined && m.uid !== stored.uid) {
      throw this.error(req, 409, "Conflict", `Operation cannot be fulfilled on ${groupResource(req.r)} "${req.name}": Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${stored.uid}`);
    }
    if (m.resourceVersion !== undefined && m.resourceVersion !== stored.resourceVersion) {
      throw this.error(req, 409, "Conflict", `Operation cannot be fulfilled on ${groupResource(req.r)} "${req.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
  }

  /** The object a write of the main resource or of its status subresource would store (system metadata still that of `before`). */
  private subresourceWrite(req: Request, before: Obj, written: Obj): Obj {
    const sub = req.o?.subresource;
    if (sub === "status") {
      if (!WITH_STATUS.has(resourceKey(req.r))) throw this.error(req, 404, "NotFound", `${groupResource(req.r)} has no status subresource`);
      const after = clone(before);
      if (written.status === undefined) delete after.status;
      else after.status = written.status;
      this.validated(req, after, true);
      return after;
    }
    if (sub) throw this.error(req, 404, "NotFound", `the server could not find the requested resource (${req.verb} ${req.r.plural} ${sub})`);
    const after = written;
    if (WITH_STATUS.has(resourceKey(req.r))) {
      if (before.status === undefined) delete after.status;
      else after.status = clone(before.status);
    }
    this.validated(req, after, false);
    return after;
  }

  /** Our kinds through their zod schemas, defaults applied; 422 Invalid naming the fields. */
  private validated(req: Request, obj: Obj, status: boolean): void {
    const kind = KIND_BY_RESOURCE.get(resourceKey(req.r));
    if (!kind) return;
    const part = status ? "status" : "spec";
    if (status && obj.status === undefined) return;
    const result = validate(status ? kind.status : kind.spec, obj[part], part);
    if (!result.ok) {
      throw this.error(req, 422, "Invalid", `${kind.kind}.smartops.io "${obj.metadata?.name}" is invalid: ${result.issues.map((i) => `${i.field}: ${i.message}`).join(", ")}`, result.issues.map((i) => i.field));
    }
    obj[part] = result.value;
  }

  /** `after` with the stored system metadata; generation bumped when the spec changed. */
  private settle(before: Obj, after: Obj, resourceVersion: string): Obj {
    const was = before.metadata!;
    const m: Meta = isObject(after.metadata) ? (after.metadata as Meta) : {};
    after.metadata = m;
    m.name = was.name;
    if (was.namespace !== undefined) m.namespace = was.namespace;
    else delete m.namespace;
    m.uid = was.uid;
    m.creationTimestamp = was.creationTimestamp;
    m.generation = (was.generation ?? 1) + (specChanged(before, after) ? 1 : 0);
    m.resourceVersion = resourceVersion;
    return after;
  }

  private preview(_req: Request, before: Obj, after: Obj): Obj {
    return this.settle(before, after, before.metadata!.resourceVersion!);
  }

  private put(r: Resource, before: Obj, after: Obj, _req?: Request): Obj {
    const stored = this.settle(before, after, this.nextVersion());
    this.bucket(r).set(this.key(r, before.metadata!.namespace, before.metadata!.name!), stored);
    return stored;
  }

  private evict(r: Resource, namespace: string | undefined, body: unknown, o: WriteOptions): unknown {
    const req: Request = { verb: "create", r, namespace, name: "", o, body };
    if (r.plural !== "pods") throw this.error(req, 404, "NotFound", `${r.plural} have no eviction subresource`);
    const eviction = isObject(body) ? body : {};
    const name = isObject(eviction.metadata) && typeof eviction.metadata.name === "string" ? eviction.metadata.name : "";
    req.name = name;
    const pod = this.existing(r, namespace, name, "create", req);
    const options = isObject(eviction.deleteOptions) ? eviction.deleteOptions : {};
    const uid = isObject(options.preconditions) ? options.preconditions.uid : undefined;
    if (typeof uid === "string" && uid !== pod.metadata?.uid) {
      throw this.error(req, 409, "Conflict", `Operation cannot be fulfilled on Pod "${name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid}`);
    }
    const dryRun = o.dryRun === true || (Array.isArray(options.dryRun) && options.dryRun.includes("All"));
    if (!dryRun) this.bucket(r).delete(this.key(r, namespace, name));
    return { kind: "Status", apiVersion: "v1", status: "Success", code: 201 };
  }

  private nextVersion(): string {
    return String(++this.version);
  }

  private peekVersion(): string {
    return String(this.version + 1);
  }

  private nextUid(): string {
    return `uid-${++this.uids}`;
  }

  private peekUid(): string {
    return `uid-${this.uids + 1}`;
  }
}

/** Anything but metadata and status differs (what makes the API server bump generation). */
function specChanged(before: Obj, after: Obj): boolean {
  const rest = (o: Obj) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== "metadata" && k !== "status"));
  return !jsonEqual(rest(before), rest(after));
}

/** RFC 7386 JSON merge patch: null removes a key, an object merges, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Json = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

type Fail = (status: number, reason: string, message: string) => KubeApiError;

/** RFC 6901: "" is the whole document; ~1 is "/" and ~0 is "~". */
function pointer(path: unknown, fail: Fail): string[] {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/"))) throw fail(400, "BadRequest", `invalid JSON pointer ${JSON.stringify(path)}`);
  return path === "" ? [] : path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(list: unknown[], token: string, forAdd: boolean): number | undefined {
  if (forAdd && token === "-") return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
  const i = Number(token);
  return i < list.length || (forAdd && i === list.length) ? i : undefined;
}

/** RFC 6902 JSON patch on a copy of `doc`; an operation that does not apply is 422 Invalid. */
export function applyJsonPatch(doc: unknown, ops: unknown, fail: Fail): unknown {
  if (!Array.isArray(ops)) throw fail(400, "BadRequest", "a json patch must be a list of operations");
  let root: unknown = clone(doc);
  const invalid = (i: number, what: string) => fail(422, "Invalid", `json patch operation ${i}: ${what}`);

  const read = (tokens: string[], i: number): unknown => {
    let cur = root;
    for (const t of tokens) {
      if (Array.isArray(cur)) {
        const k = arrayIndex(cur, t, false);
        if (k === undefined) throw invalid(i, `no element ${t}`);
        cur = cur[k];
      } else if (isObject(cur) && Object.hasOwn(cur, t)) {
        cur = cur[t];
      } else {
        throw invalid(i, `path does not exist at ${JSON.stringify(t)}`);
      }
    }
    return cur;
  };
  const add = (tokens: string[], value: unknown, i: number) => {
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const parent = read(tokens.slice(0, -1), i);
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const k = arrayIndex(parent, last, true);
      if (k === undefined) throw invalid(i, `index ${last} out of range`);
      parent.splice(k, 0, value);
    } else if (isObject(parent)) {
      parent[last] = value;
    } else {
      throw invalid(i, "the parent is not an object or a list");
    }
  };
  const remove = (tokens: string[], i: number): unknown => {
    if (tokens.length === 0) throw invalid(i, "cannot remove the whole document");
    const parent = read(tokens.slice(0, -1), i);
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const k = arrayIndex(parent, last, false);
      if (k === undefined) throw invalid(i, `no element ${last}`);
      return parent.splice(k, 1)[0];
    }
    if (isObject(parent) && Object.hasOwn(parent, last)) {
      const v = parent[last];
      delete parent[last];
      return v;
    }
    throw invalid(i, `path does not exist at ${JSON.stringify(last)}`);
  };

  ops.forEach((op: unknown, i) => {
    if (!isObject(op) || typeof op.op !== "string") throw fail(400, "BadRequest", `json patch operation ${i} is not an operation`);
    const path = pointer(op.path, fail);
    switch (op.op) {
      case "add":
        if (!Object.hasOwn(op, "value")) throw fail(400, "BadRequest", `json patch operation ${i}: add needs a value`);
        add(path, clone(op.value), i);
        break;
      case "remove":
        remove(path, i);
        break;
      case "replace":
        if (!Object.hasOwn(op, "value")) throw fail(400, "BadRequest", `json patch operation ${i}: replace needs a value`);
        if (path.length > 0) remove(path, i);
        add(path, clone(op.value), i);
        break;
      case "move": {
        const from = pointer(op.from, fail);
        if (from.length < path.length && from.every((t, k) => t === path[k])) throw invalid(i, "cannot move a value into itself");
        add(path, remove(from, i), i);
        break;
      }
      case "copy":
        add(path, clone(read(pointer(op.from, fail), i)), i);
        break;
      case "test":
        if (!jsonEqual(read(path, i), op.value)) throw invalid(i, `test failed at ${String(op.path)}`);
        break;
      default:
        throw fail(400, "BadRequest", `json patch operation ${i}: unsupported op ${JSON.stringify(op.op)}`);
    }
  });
  return root;
}

type LabelRequirement = (labels: Record<string, string>) => boolean;

/** Equality-based selectors (a=b, a==b, a!=b, a, !a), comma-separated; set-based ones are refused. */
function parseLabelSelector(selector: string): LabelRequirement[] {
  return selector.split(",").map((s) => s.trim()).filter((s) => s !== "").map((term): LabelRequirement => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if (/^![^=!\s]+$/.test(term)) return (l) => !Object.hasOwn(l, term.slice(1));
    if (/^[^=!\s()]+$/.test(term)) return (l) => Object.hasOwn(l, term);
    throw new Error(`FakeKubeApi: label selector ${JSON.stringify(term)} is not supported (equality-based only)`);
  });
}

/** metadata.name and metadata.namespace with = / == / != (the ones the API server supports on every resource). */
function parseFieldSelector(selector: string): ((o: Obj) => boolean)[] {
  return selector.split(",").map((s) => s.trim()).filter((s) => s !== "").map((term) => {
    const m = /^metadata\.(name|namespace)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (!m) throw new Error(`FakeKubeApi: field selector ${JSON.stringify(term)} is not supported`);
    const [, field, op, value] = m as unknown as [string, "name" | "namespace", string, string];
    return (o: Obj) => (o.metadata?.[field] === value) !== (op === "!=");
  });
}
