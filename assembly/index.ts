// The AssemblyScript entry of rmsprop-wasm: `import { step, StepArgs, EPS_IN_SQRT } from
// "rmsprop-wasm/assembly"` compiles the kernel into your own module (build it with
// --enable simd for the vector loop). See "Embedding" in the README.
export {
  CENTERED, EPS_IN_SQRT, MOM_HEAVY, MOM_NESTEROV, StepArgs, TRAFFIC_PROBE, WD_DECOUPLED, WD_L2,
} from "./abi";
export { first_nonfinite_f32, step } from "./rmsprop";
