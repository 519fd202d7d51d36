// The names the benchmark's rows carry, shared by the contenders, the summary lines, the
// tables and the plot (and kept free of imports, so the report code loads without tfjs).

// Sections.
export const WARM = "sizes";
export const TRAINING = "training loop";

// Contenders.
export const SIMD = "wasm SIMD (default)";
export const SIMD_2 = "wasm SIMD, 2 threads";
/** The kernel on the threads a user's optimizer would take: `threads: "auto"`, or the --threads asked for. */
export const threadsName = (threads) => `wasm SIMD, threads ${threads === "auto" ? '"auto"' : threads}`;
export const AUTO = threadsName("auto");
/** Training loop only: workers that poll through the forward and backward pass. */
export const SIMD_2_HOT = "wasm SIMD, 2 threads, threadSpinMs 20";
export const IGNORE = "wasm SIMD, nonFinite ignore";
export const IGNORE_2 = "wasm SIMD, nonFinite ignore, 2 threads";
export const SCALAR = "wasm scalar";
export const BASELINE = "plain JS loop";
export const TFJS_WASM = "tfjs-backend-wasm";
export const ONE_THREAD = "1 thread";
/** The threads section's k threads, forced at every n (minParamsPerThread 1). */
export const forcedThreads = (k) => `${k} threads (forced)`;
export const TWO_THREADS_FORCED = forcedThreads(2);
export const VARIANT_PREFIX = "variant: ";
export const PLAIN_VARIANT_PREFIX = "plain JS, same variant: ";

// What a row is to the user's answer (bench/answer.mjs), whatever its name: this package on one
// thread, and on the threads the user's optimizer would take.
export const ONE = "one";
export const MANY = "many";

// The probes that make the ceiling.
export const TRAFFIC_PROBE = "traffic probe (no math)";
/** The traffic probe's row name on k threads. */
export const trafficProbeName = (k) => (k === 1 ? TRAFFIC_PROBE : `traffic probe, ${k} threads`);
export const COMPUTE_PROBE = "compute probe (data in L1)";
