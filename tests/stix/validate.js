#!/usr/bin/env node
// validate.js - check STIX 2.1 bundles against the OASIS JSON schemas.
//
// Usage: node validate.js SCHEMA_DIR FILE...
//
// SCHEMA_DIR is the OASIS cti-stix2-json-schemas "schemas" folder (draft
// 2020-12, referring to each other by $id and relative $ref): every schema
// in it is loaded, each FILE is validated as a bundle, and every object in
// it once more against the schema of its own type, for a precise message.
// Exits 1 naming the file, the object and the failing rule.
"use strict";

const fs = require("fs");
const path = require("path");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

function schemaFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...schemaFiles(p));
    else if (e.name.endsWith(".json")) out.push(p);
  }
  return out.sort();
}

function main(argv) {
  if (argv.length < 2) {
    console.error("usage: node validate.js SCHEMA_DIR FILE...");
    return 2;
  }
  const dir = argv[0];
  // strict off: the OASIS schemas use keywords (e.g. "title" beside
  // "$ref") that ajv's strict mode reports, yet are valid 2020-12.
  // unicodeRegExp off: their patterns escape "-" outside classes, which
  // ECMAScript allows only without the u flag.
  const ajv = new Ajv2020({ strict: false, allErrors: true,
    unicodeRegExp: false });
  addFormats(ajv);
  // ajv-formats has no idn-hostname (domain-name values may be Unicode):
  // a host name is labels of no spaces, slashes, "@" or ":".
  ajv.addFormat("idn-hostname", (v) => /^[^\s/@:]{1,253}$/.test(v));
  const byType = new Map();
  let bundleId = null;
  for (const f of schemaFiles(dir)) {
    const s = JSON.parse(fs.readFileSync(f, "utf8"));
    ajv.addSchema(s);
    const rel = path.relative(dir, f).split(path.sep);
    if (rel[0] === "common" && rel[1] === "bundle.json") bundleId = s.$id;
    if (["sdos", "sros", "observables"].includes(rel[0]) ||
        (rel[0] === "common" && rel[1] === "marking-definition.json"))
      byType.set(path.basename(f, ".json"), s.$id);
  }
  if (!bundleId) {
    console.error(`${dir}: no common/bundle.json: is this the OASIS schemas folder?`);
    return 2;
  }
  const bundle = ajv.getSchema(bundleId);
  let failed = 0;
  for (const file of argv.slice(1)) {
    let doc;
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      console.error(`${file}: not JSON: ${e.message}`);
      failed++;
      continue;
    }
    const errs = [];
    // The bundle's anyOf over every type lists each alternative's
    // failure: keep the start, the per-object check below is precise.
    if (!bundle(doc))
      errs.push(`bundle: ${ajv.errorsText(bundle.errors).slice(0, 400)}`);
    (doc.objects || []).forEach((o, i) => {
      const id = byType.get(o && o.type);
      if (!id) {
        errs.push(`objects[${i}]: no OASIS schema for type ${o && o.type}`);
        return;
      }
      const v = ajv.getSchema(id);
      if (!v(o))
        errs.push(`objects[${i}] (${o.id}): ${ajv.errorsText(v.errors)}`);
    });
    if (errs.length) {
      failed++;
      console.error(`${file}: NOT valid STIX 2.1:\n  ` + errs.join("\n  "));
    } else {
      console.log(`${file}: valid (${(doc.objects || []).length} objects)`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
