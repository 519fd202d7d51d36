// The run as one JSON document: what `--json` prints, what `--out NAME` keeps in
// bench/results/NAME.json (the committed run is bench/results/readme.json), and what
// `npm run bench:compare` reads. Its shape is documented in docs/benchmark.md#the-json-document.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import os from "node:os";

/** The document's shape and version: a reader checks it before it trusts a field. */
export const SCHEMA = "rmsprop-wasm-bench/1";

const require = createRequire(import.meta.url);

/** A package's version, found from where Node resolves it (some packages do not export package.json). */
function packageVersion(name) {
  try {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
        if (pkg.name === name) return pkg.version;
      } catch {
        // no package.json at this level
      }
    }
  } catch {
    // not installed
  }
  return undefined;
}

/** The versions a result depends on: this package, Node and V8, tinybench and the tfjs packages compared with. */
export function versions() {
  const own = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return {
    "rmsprop-wasm": own.version,
    node: process.version,
    v8: process.versions.v8,
    tinybench: packageVersion("tinybench"),
    "@tensorflow/tfjs-core": packageVersion("@tensorflow/tfjs-core"),
    "@tensorflow/tfjs-backend-wasm": packageVersion("@tensorflow/tfjs-backend-wasm"),
  };
}

/** The machine as the run saw it: the CPU, its cores and memory (run.mjs adds otherCores, watchOtherLoad's reading). */
export function machineInfo() {
  return {
    cpu: os.cpus()[0]?.model?.trim() ?? "unknown",
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.arch()}`,
  };
}

/**
 * Starts watching how busy other programs keep the cores. The returned function gives, since
 * the start, the cores' busy time that this process (its main thread and its workers) did
 * not spend, per second of wall time: about 0 on a quiet machine, about 1 while another
 * program keeps one core busy.
 */
export function watchOtherLoad() {
  const busyMs = () => os.cpus().reduce((a, { times: t }) => a + t.user + t.nice + t.sys + t.irq, 0);
  const ownMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const [t0, busy0, own0] = [performance.now(), busyMs(), ownMs()];
  return () => {
    const wall = performance.now() - t0;
    return wall > 0 ? Math.max(0, (busyMs() - busy0 - (ownMs() - own0)) / wall) : 0;
  };
}

/**
 * The document: { schema, machine, versions, run, rows, findings, tfjs?, patterns? }.
 * `run` says what was asked (plan, sizes, threads, options, sections) and how long it took.
 */
export function benchDocument({ machine, versions, run, rows, findings, tfjs, patterns }) {
  return { schema: SCHEMA, machine, versions, run, rows, findings, ...(tfjs && { tfjs }), ...(patterns && { patterns }) };
}

/**
 * A document from text, checked: a bench document of this schema. npm's own banner lines
 * (blank, or "> rmsprop-wasm@… bench") at the start are skipped, for a file written without -s.
 */
export function parseDocument(text, source = "the document") {
  let doc;
  try {
    doc = JSON.parse(text.replace(/^(?:[ \t]*\r?\n|>.*\r?\n)*/, ""));
  } catch (error) {
    throw new Error(`${source} is not JSON: ${error.message}`);
  }
  if (doc?.schema !== SCHEMA) throw new Error(`${source} is not a bench document of ${SCHEMA} (its schema is ${JSON.stringify(doc?.schema)})`);
  return doc;
}

/** The fields the report, the plot and the docs' tables read from a document, as one header. */
export const header = (doc) => ({ date: doc.run.date, cpu: doc.machine.cpu, cores: doc.machine.cores, node: doc.versions.node });
