// The AssemblyScript entry of rmsprop-wasm: `import { step, StepArgs, EPS_IN_SQRT } from
// "rmsprop-wasm/assembly"` compiles the kernel into your own module (build it with
// --enable simd for the vector loop). See docs/embedding.md.
export {
  CENTERED, CLIP, EMA, EMA_INIT, EPS_IN_SQRT, FLAGS_IN_ARGS, MOM_HEAVY, MOM_NESTEROV, STEP_ARGS_BYTES, STEP_ARGS_V1_BYTES,
  StepArgs, TRAFFIC_PROBE, WD_DECOUPLED, WD_L2,
} from "./abi";
export { first_nonfinite_f32, first_nonfinite_scaled_f32, step, step_range, sum_squares_f32 } from "./rmsprop";
