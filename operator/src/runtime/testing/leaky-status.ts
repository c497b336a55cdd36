// A 422 as the API server answers a merge patch whose result cannot be decoded:
// the message (and its cause) embed the whole patched Deployment, including an
// env var DB_PASSWORD. For the tests that errors never pass it on.
export const SECRET = "s3cr3t-Pa55w0rd-for-the-db";

/** The Deployment a merge patch produced, as the API server embeds it in a 422. */
export const patched = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "team-a", annotations: { broken: 1 } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "registry.example/web:1.4", env: [{ name: "DB_PASSWORD", value: SECRET }] }] },
    },
  },
};
// Go's %q of the JSON text is what JSON.stringify of the text gives, quotes and escapes alike.
const quoted = JSON.stringify(JSON.stringify(patched));
export const DECODE_ERROR = "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string";
/** The Status body of the 422 the API server answers to a patch whose result cannot be decoded. */
export const status422 = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: ` "" is invalid: patch: Invalid value: ${quoted}: ${DECODE_ERROR}`,
  reason: "Invalid",
  details: { causes: [{ reason: "FieldValueInvalid", message: `Invalid value: ${quoted}: ${DECODE_ERROR}`, field: "patch" }] },
  code: 422,
};

/** Which parts of the Deployment show in `text`. */
export const leaks = (text: string) => ["DB_PASSWORD", SECRET, "registry.example", "apiVersion", "matchLabels"].filter((s) => text.includes(s));
