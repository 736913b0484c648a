// The independent EPCIS oracle of the Go tests: GS1's JavaScript SDK
// epcis2.js (installed by `make epcis-deps`).
//
//   node oracle.js NODE_MODULES validate FILE...  one line per file: {"file","success","errors"}
//   node oracle.js NODE_MODULES hash FILE          one line per event: its eventToHashedId
//
// Extensions must be declared in the document's @context (checkExtensions).
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, mode, ...files] = process.argv.slice(2);
const sdk = require(path.join(modules, 'epcis2.js'));
sdk.setup({ checkExtensions: true, validationMode: 'full' });

for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (mode === 'validate') {
    let res;
    try {
      res = sdk.validateEpcisDocument(doc, false);
    } catch (e) {
      res = { success: false, errors: [String(e && e.message)] };
    }
    process.stdout.write(JSON.stringify({ file, success: res.success, errors: res.errors }) + '\n');
  } else if (mode === 'hash') {
    const ctx = Array.isArray(doc['@context']) ? doc['@context'] : [doc['@context']];
    for (const event of doc.epcisBody.eventList) {
      process.stdout.write(sdk.eventToHashedId(event, ctx, true) + '\n');
    }
  } else {
    throw new Error('unknown mode ' + mode);
  }
}
