#!/usr/bin/env node
// A shoal client in Node.js with nothing but standard gRPC tooling
// (@grpc/grpc-js, @grpc/proto-loader, protobufjs) and shoal's .proto files.
//
//   npm install && node client.mjs --config ~/.shoal/server/admin.conf
//
// It reads admin.conf (kubeconfig-shaped YAML), connects over TLS verified by
// the cluster's CA, authenticates with the config's bearer token, then walks
// a ConfigMap through Create, Get, List, Watch (a MODIFIED event after a
// Patch), an ALREADY_EXISTS and an INVALID_ARGUMENT (decoding the
// google.rpc.Status of grpc-status-details-bin), and Delete, printing one
// line per step. See docs/api.md, "From other languages".

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import YAML from "yaml";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_FILES = ["shoal/api/v1/api.proto", "shoal/api/v1/core.proto"];
const TYPE_URL_PREFIX = "type.googleapis.com/";
const WATCH_TIMEOUT_MS = 20000;

// The rich error model's messages, as googleapis defines them
// (google/rpc/status.proto, google/rpc/error_details.proto): the few the
// server sends, so no more packages are needed to read them.
const GOOGLE_RPC = `
syntax = "proto3";
package google.rpc;
import "google/protobuf/any.proto";
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message BadRequest {
  message FieldViolation { string field = 1; string description = 2; }
  repeated FieldViolation field_violations = 1;
}
`;

const say = (line) => console.log(line);

function options() {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: process.env.SHOAL_CONFIG ?? "" },
      namespace: { type: "string", default: "" },
      name: { type: "string", default: "node-client-demo" },
      "proto-dir": { type: "string", default: path.resolve(HERE, "../../proto") },
    },
  });
  if (!values.config) throw new Error("give --config PATH (the admin.conf of `shoal server`)");
  return values;
}

// admin.conf: the current context names a cluster (server, CA) and a user
// (a bearer token, beside the certificate shoal's own client uses).
function readConfig(file) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const named = (list, name) => (list ?? []).find((item) => item.name === name);
  const context = named(doc.contexts, doc["current-context"])?.context;
  if (!context) throw new Error(`${file}: no current context`);
  const cluster = named(doc.clusters, context.cluster)?.cluster ?? {};
  const user = named(doc.users, context.user)?.user ?? {};
  const ca = cluster["certificate-authority-data"]
    ? Buffer.from(cluster["certificate-authority-data"], "base64")
    : fs.readFileSync(cluster["certificate-authority"]);
  if (!user.token) {
    throw new Error(`${file}: the user has no token (a server run with --insecure?)`);
  }
  const namespace = context.namespace ?? "default";
  return { server: cluster.server, ca, token: user.token, namespace };
}

function connect(cfg, protoDir) {
  const definition = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [protoDir],
    keepCase: true, // snake_case fields, as in the .proto files
    longs: String,
    enums: String,
  });
  const shoal = grpc.loadPackageDefinition(definition).shoal.v1;
  // TLS verified by the cluster's CA; the token rides on every call.
  const bearer = grpc.credentials.createFromMetadataGenerator((_call, callback) => {
    const metadata = new grpc.Metadata();
    metadata.add("authorization", `Bearer ${cfg.token}`);
    callback(null, metadata);
  });
  const credentials = grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(cfg.ca),
    bearer,
  );
  return new shoal.Objects(cfg.server, credentials);
}

// Objects travel as google.protobuf.Any: proto-loader hands over its bytes,
// so encode and decode the typed message with protobufjs (the same protos).
function types(protoDir) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  root.loadSync(PROTO_FILES, { keepCase: true });
  protobuf.parse(GOOGLE_RPC, root, { keepCase: true });
  root.resolveAll();
  return root;
}

function pack(root, typeName, object) {
  const type = root.lookupType(typeName);
  const problem = type.verify(object);
  if (problem) throw new Error(`${typeName}: ${problem}`);
  const value = type.encode(type.fromObject(object)).finish();
  return { type_url: TYPE_URL_PREFIX + typeName, value };
}

function unpack(root, any) {
  const type = root.lookupType(any.type_url.slice(any.type_url.lastIndexOf("/") + 1));
  return type.toObject(type.decode(any.value), { longs: String, enums: String });
}

const call = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (err, response) => (err ? reject(err) : resolve(response))),
  );

// A gRPC error: its code and message, and the google.rpc.Status the server
// puts in the grpc-status-details-bin trailer (ErrorInfo, BadRequest).
function describeError(root, err) {
  const lines = [`${grpc.status[err.code]} (${err.code}): ${err.details}`];
  const [raw] = err.metadata?.get("grpc-status-details-bin") ?? [];
  if (!raw) return lines;
  const status = root.lookupType("google.rpc.Status").decode(raw);
  for (const detail of status.details) {
    const name = detail.type_url.slice(detail.type_url.lastIndexOf("/") + 1);
    const value = unpack(root, detail);
    if (name === "google.rpc.ErrorInfo") {
      const sorted = Object.entries(value.metadata ?? {}).sort();
      const meta = JSON.stringify(Object.fromEntries(sorted));
      lines.push(`  ErrorInfo reason=${value.reason} domain=${value.domain} metadata=${meta}`);
    } else if (name === "google.rpc.BadRequest") {
      for (const v of value.field_violations ?? []) {
        lines.push(`  BadRequest field=${v.field} description=${v.description}`);
      }
    }
  }
  return lines;
}

async function expectError(root, promise, what) {
  try {
    await promise;
  } catch (err) {
    for (const line of describeError(root, err)) {
      say(line.startsWith(" ") ? line : `${what}: ${line}`);
    }
    return err;
  }
  throw new Error(`${what} succeeded; an error was expected`);
}

// Watch events, one at a time, from the stream of WatchResponses.
async function* watchEvents(stream) {
  for await (const response of stream) yield* response.events;
}

async function nextEvent(events, wanted) {
  let timer;
  const timeout = new Promise((_, reject) => {
    const late = () => reject(new Error(`no ${wanted} event within ${WATCH_TIMEOUT_MS} ms`));
    timer = setTimeout(late, WATCH_TIMEOUT_MS);
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([events.next(), timeout]);
      if (done) throw new Error(`the watch ended before a ${wanted} event`);
      if (value.type === wanted) return value;
    }
  } finally {
    clearTimeout(timer);
  }
}

function show(prefix, object) {
  const m = object.metadata;
  const labels = JSON.stringify(m.labels ?? {});
  const data = JSON.stringify(object.data ?? {});
  const where = `${m.namespace}/${m.name} rv=${m.resource_version}`;
  say(`${prefix} configmap ${where} labels=${labels} data=${data}`);
}

async function main() {
  const opts = options();
  const cfg = readConfig(opts.config);
  const namespace = opts.namespace || cfg.namespace;
  const name = opts.name;
  const root = types(opts["proto-dir"]);
  const objects = connect(cfg, opts["proto-dir"]);
  say(`server ${cfg.server}, bearer token from ${path.basename(opts.config)}`);

  const configMap = {
    api_version: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace },
    data: { greeting: "hello" },
  };
  const create = (object) =>
    call(objects, "Create", { object: pack(root, "shoal.v1.ConfigMap", object) });
  show("created", unpack(root, (await create(configMap)).object));

  const key = { kind: "configmaps", namespace, name };
  show("got", unpack(root, (await call(objects, "Get", { key })).object));

  const list = await call(objects, "List", { kind: "configmaps", namespace });
  const names = list.items.map((item) => unpack(root, item).metadata.name);
  say(`listed configmaps in ${namespace} at rv=${list.resource_version}: ${names.join(", ")}`);

  const from = list.resource_version;
  const selector = `metadata.name=${name}`; // this object's events only
  const stream = objects.Watch({
    kind: "configmaps",
    namespace,
    field_selector: selector,
    resource_version: from,
  });
  stream.on("error", () => {}); // its end (CANCELLED) is ours; the iterator reports others
  const events = watchEvents(stream);
  say(`watching configmaps in ${namespace} (${selector}) from rv=${from}`);

  const patch = { metadata: { labels: { from: "node" } }, data: { greeting: "hi" } };
  const body = Buffer.from(JSON.stringify(patch)); // a JSON merge patch (RFC 7386)
  const patched = await call(objects, "Patch", { key, patch_type: "merge", patch: body });
  show("patched", unpack(root, patched.object));
  const modified = await nextEvent(events, "MODIFIED");
  show("watch MODIFIED", unpack(root, modified.object));

  await expectError(root, create(configMap), "create again");
  const invalid = { metadata: { name: "Not_A_Name", namespace }, data: { k: "v" } };
  await expectError(root, create(invalid), "create invalid");

  await call(objects, "Delete", { key });
  say(`deleted configmap ${namespace}/${name}`);
  show("watch DELETED", unpack(root, (await nextEvent(events, "DELETED")).object));
  stream.cancel();
  objects.close();
  say("done");
}

main().catch((err) => {
  console.error(`error: ${err.details ?? err.message}`);
  process.exit(1);
});
