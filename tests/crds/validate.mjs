// Runs the validators an npm package ships on documents (tests/crds/schemas.py calls it; README.md beside it).
//
// stdin: a JSON list of [module, document]: module is the path of a validator module (an ES module exporting
// `validate`, as @kubernetes-models/*/_schemas/*.js do: JSON Schema compiled to code by Ajv, one module per
// type, importing the modules of the types it refers to). stdout: a JSON list with, for each document, the
// list of its errors ([] when it is valid).
//
// Besides the validator's own errors (type, enum, required, pattern...), a field the validator never read is
// reported as unknown. These validators, like the CRDs they stand for, do not forbid unknown fields; the API
// server rejects them under strict field validation, the default of `kubectl apply`. A compiled validator
// reads each property its schema declares (`data.name`) and every entry of a map (`data[key]`), so the fields
// it leaves unread are the ones its schema does not know. Known limit: a field whose schema accepts anything
// (`{}`, x-kubernetes-preserve-unknown-fields) is not read either and would be reported; none of the fields
// tmsc renders is one.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

function watched(value, path, read) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item, i) => watched(item, `${path}/${i}`, read));
  const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, watched(v, `${path}/${k}`, read)]));
  const mark = (key) => typeof key === "string" && read.add(`${path}/${key}`);
  return new Proxy(copy, {
    get: (target, key, receiver) => (mark(key), Reflect.get(target, key, receiver)),
    has: (target, key) => (mark(key), Reflect.has(target, key)),
  });
}

function fields(value, path, out) {
  if (value === null || typeof value !== "object") return out;
  if (Array.isArray(value)) value.forEach((item, i) => fields(item, `${path}/${i}`, out));
  else
    for (const [k, v] of Object.entries(value)) {
      out.push(`${path}/${k}`);
      fields(v, `${path}/${k}`, out);
    }
  return out;
}

const modules = new Map();
const results = [];
for (const [module, document] of JSON.parse(readFileSync(0, "utf8"))) {
  if (!modules.has(module)) modules.set(module, (await import(pathToFileURL(module).href)).validate);
  const validate = modules.get(module);
  const read = new Set();
  const errors = [];
  if (!validate(watched(document, "", read)))
    for (const e of validate.errors) errors.push(`${e.instancePath || "/"}: ${e.keyword} ${JSON.stringify(e.params)}`);
  // A field under an unknown one is not reported again.
  const unknown = fields(document, "", []).filter((p) => !read.has(p));
  for (const p of unknown) if (!unknown.some((q) => p.startsWith(`${q}/`))) errors.push(`${p}: unknown field`);
  results.push(errors);
}
process.stdout.write(JSON.stringify(results));
