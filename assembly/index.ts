// The AssemblyScript entry of rmsprop-wasm: `import { step, StepArgs, EPS_IN_SQRT } from
// "rmsprop-wasm/assembly"` compiles the kernel into your own module (build it with
// --enable simd for the vector loop). See docs/embedding.md.
export {
  CENTERED, CLIP, EMA, EMA_INIT, EPS_IN_SQRT, FLAGS_IN_ARGS, MOM_HEAVY, MOM_NESTEROV, Q8, STEP_ARGS_BYTES, STEP_ARGS_V1_BYTES,
  STEP_ARGS_V2_BYTES, StepArgs, TRAFFIC_PROBE, WD_DECOUPLED, WD_L2,
} from "./abi";
export { step, step_range } from "./rmsprop";
export { first_nonfinite_f32, first_nonfinite_scaled_f32, sum_squares_f32 } from "./scans";
export { dequantize_blockwise_8bit, quantize_blockwise_8bit } from "./quantize";
export { FORMAT_S8E3M4, FORMAT_S8E4M3, FORMAT_U8E5M3, Q8_SCRATCH_BYTES, QBLOCK } from "./quantize";
