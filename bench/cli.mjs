// The command line of `npm run bench`: its options, their checks and the --help text. Pure
// (no package, no tfjs), so a bad option fails at once, before anything is measured, and
// the tests check the rules without running a benchmark.
import { REFUSED_KEYS } from "./user-options.mjs";

/** A bad command line: run.mjs prints the message and the hint, and exits with 2. */
export class UsageError extends Error {}

export const HELP = `npm run bench [-- options]

Times one RMSProp step of this package (1 thread, and threads "auto") against the plain JS
loop and tfjs-backend-wasm at n = 1e5, 1e6 and 1e7, then says where threads pay off, what the
training recipe costs and how close to this machine's limit a step runs. About a minute.

  --n LIST          sizes to time, comma-separated: --n 3e5 or --n 1e4,2.5e6 (default 1e5,1e6,1e7)
  --threads K       the threaded row's threads: an integer in [1, 64] or auto (default auto)
  --options JSON    createRmsprop options for this package's rows: --options '{"momentum":0.9}'
  --json [FILE]     one JSON document (machine, versions, every row with its spread) on stdout,
                    or in FILE; with npm, -s keeps npm's own banner off stdout:
                    npm run -s bench -- --json > here.json
  --svg FILE        the throughput plot (parameters/s against n) as an SVG file
  --full            everything: every size, kernel variant, the training loop, the recipe,
                    tfjs models, threads in every pattern (about 11 minutes)
  --out NAME        also write bench/results/NAME.json, .md and .svg
  -h, --help        this text

Compare two machines: npm run bench:compare -- a.json b.json
Maintainers: npm run bench:targets runs --full and checks the speed targets.`;

// Options that take a value, and those that do not. --json's value is optional.
const VALUED = ["--n", "--threads", "--options", "--svg", "--out", "--only"];
const FLAGS = ["--full", "--targets", "--help", "-h"];

/** n from the command line: a positive integer, written plainly or as 1e6 / 2.5e5. */
function parseSize(text) {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`--n: each size must be a positive integer (such as 1e6 or 250000); got "${text}"`);
  }
  return n;
}

function parseThreads(text) {
  if (text === "auto") return "auto";
  const k = Number(text);
  if (!Number.isInteger(k) || k < 1 || k > 64) throw new UsageError(`--threads must be an integer in [1, 64] or auto; got "${text}"`);
  return k;
}

function parseOptions(text) {
  let options;
  try {
    options = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--options must be a JSON object such as '{"momentum":0.9}'; ${error.message}`);
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new UsageError(`--options must be a JSON object such as '{"momentum":0.9}'; got ${text}`);
  }
  for (const [key, why] of Object.entries(REFUSED_KEYS)) {
    if (key in options) throw new UsageError(`--options: ${key} is not for the bench: ${why}`);
  }
  return options;
}

/**
 * The run `argv` asks for: { sizes, threads, options, json, jsonFile, svg, full, targets,
 * out, only, help }. Throws a UsageError naming the option and its rule. The options'
 * values are checked by createRmsprop itself (run.mjs), with the package's own messages.
 */
export function parseArgs(argv) {
  const given = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") {
      // A value that is not another option is the file to write.
      const next = argv[i + 1];
      given.set("--json", next !== undefined && !next.startsWith("-") ? argv[++i] : true);
    } else if (VALUED.includes(arg)) {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value !== "--")) throw new UsageError(`${arg} needs a value`);
      given.set(arg, value);
      i++;
    } else if (FLAGS.includes(arg)) {
      given.set(arg, true);
    } else if (arg === "--quick") {
      throw new UsageError("--quick is gone: the default run is the short one now (--full runs everything)");
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  const full = given.has("--full") || given.has("--targets");
  if (full) {
    for (const name of ["--n", "--threads", "--options"]) {
      if (given.has(name)) throw new UsageError(`${name} shapes the default run; --full measures its own sizes and settings`);
    }
  }
  if (given.has("--only") && !full) throw new UsageError("--only picks sections of --full");
  const options = given.has("--options") ? parseOptions(given.get("--options")) : {};
  if (given.has("--threads") && "threads" in options) throw new UsageError("give the threads once: --threads or threads in --options");
  const threads = given.has("--threads") ? parseThreads(given.get("--threads")) : "threads" in options ? options.threads : "auto";
  const { threads: _, ...rest } = options;
  const json = given.get("--json");
  return {
    help: given.has("--help") || given.has("-h"),
    full,
    targets: given.has("--targets"),
    sizes: given.has("--n") ? [...new Set(given.get("--n").split(",").map(parseSize))].sort((a, b) => a - b) : undefined,
    threads,
    options: rest,
    json: json !== undefined,
    jsonFile: typeof json === "string" ? json : undefined,
    svg: given.get("--svg"),
    out: given.get("--out"),
    only: given.get("--only")?.split(","),
  };
}
