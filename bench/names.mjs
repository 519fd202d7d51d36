// The names the benchmark's rows carry, shared by the contenders, the summary lines, the
// tables and the plot (and kept free of imports, so the report code loads without tfjs).

// Sections.
export const WARM = "sizes";
export const TRAINING = "training loop";

// Contenders.
export const SIMD = "wasm SIMD (default)";
export const SIMD_2 = "wasm SIMD, 2 threads";
/** Training loop only: workers that poll through the forward and backward pass. */
export const SIMD_2_HOT = "wasm SIMD, 2 threads, threadSpinMs 20";
export const IGNORE = "wasm SIMD, nonFinite ignore";
export const IGNORE_2 = "wasm SIMD, nonFinite ignore, 2 threads";
export const SCALAR = "wasm scalar";
export const BASELINE = "plain JS loop";
export const TFJS_WASM = "tfjs-backend-wasm";
export const ONE_THREAD = "1 thread";
export const TWO_THREADS_FORCED = "2 threads (forced)";
export const VARIANT_PREFIX = "variant: ";
export const PLAIN_VARIANT_PREFIX = "plain JS, same variant: ";

// The probes that make the ceiling.
export const TRAFFIC_PROBE = "traffic probe (no math)";
export const TRAFFIC_PROBE_2 = "traffic probe, 2 threads";
export const COMPUTE_PROBE = "compute probe (data in L1)";
