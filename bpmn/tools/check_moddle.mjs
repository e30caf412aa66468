#!/usr/bin/env node
// Check that BPMN files load cleanly in bpmn.io's model library (bpmn-moddle,
// the parser behind bpmn-js and Camunda Modeler) with the Camunda extensions.
//
// Usage: node bpmn/tools/check_moddle.mjs FILE.bpmn [FILE.bpmn ...]
//
// It also refuses an id used twice anywhere in a file, extension elements
// included: SpiffWorkflow indexes every `id` attribute of a process, so a
// camunda:value or camunda:formField whose id equals a task id breaks parsing
// ("There is no support implemented for this task type"), while the BPMN XSD
// and bpmn-moddle accept it.
//
// Exit codes: 0 every file loaded without warnings; 1 a file had warnings or
// failed to load; 2 usage error or the node packages are missing.
//
// The node packages are not part of the repository. They are looked up in
// $MODDLE_DIR/node_modules (default /tmp/moddle), then next to this script:
//   mkdir -p /tmp/moddle && npm install --prefix /tmp/moddle \
//     bpmn-moddle@^10 camunda-bpmn-moddle@^8

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

async function loadPackages() {
  const bases = [
    process.env.MODDLE_DIR || '/tmp/moddle',
    path.dirname(fileURLToPath(import.meta.url)),
  ];
  for (const base of bases) {
    const require = createRequire(path.join(base, 'noop.js'));
    try {
      // bpmn-moddle is an ES module; resolve it from `base`, then import it.
      const entry = require.resolve('bpmn-moddle');
      const camunda = require('camunda-bpmn-moddle/resources/camunda.json');
      const mod = await import(pathToFileURL(entry).href);
      return { BpmnModdle: mod.default ?? mod.BpmnModdle, camunda };
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return null;
}

function duplicateIds(xml) {
  const seen = new Set();
  const dups = new Set();
  for (const m of xml.matchAll(/<[A-Za-z][^>]*?\sid="([^"]*)"/g)) {
    if (seen.has(m[1])) dups.add(m[1]);
    seen.add(m[1]);
  }
  return [...dups];
}

async function checkFile(BpmnModdle, camunda, file) {
  const moddle = new BpmnModdle({ camunda });
  const xml = await readFile(file, 'utf8');
  const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
  const problems = warnings.map((w) => w.message);
  for (const id of duplicateIds(xml)) {
    problems.push(`id "${id}" is used more than once (SpiffWorkflow indexes every id)`);
  }
  if (!rootElement || rootElement.$type !== 'bpmn:Definitions') {
    problems.push('root element is not bpmn:Definitions');
  }
  return problems;
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node check_moddle.mjs FILE.bpmn [FILE.bpmn ...]');
    return 2;
  }
  const packages = await loadPackages();
  if (packages === null) {
    console.error('bpmn-moddle / camunda-bpmn-moddle not found; install them into ' +
      '$MODDLE_DIR (default /tmp/moddle): npm install --prefix /tmp/moddle ' +
      'bpmn-moddle@^10 camunda-bpmn-moddle@^8');
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    let problems;
    try {
      problems = await checkFile(packages.BpmnModdle, packages.camunda, file);
    } catch (err) {
      problems = [`failed to load: ${err.message}`];
    }
    if (problems.length === 0) {
      console.log(`ok ${file}`);
    } else {
      failed += 1;
      console.log(`FAIL ${file}`);
      for (const p of problems) console.log(`  ${p}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
