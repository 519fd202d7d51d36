export { createRmsprop, createTrafficProbe, restoreRmsprop } from "./create.ts";
export { CHECKPOINT_VERSION } from "./checkpoint.ts";
export type {
  QuantizedState, Rmsprop, RmspropGroup, RmspropState, RmspropState8, RmspropTensor, StateName, StepResult, Threading,
} from "./optimizer-types.ts";
export type { QuantFormatName } from "./quantization.ts";
export { defaultOptions } from "./options.ts";
export { presets } from "./presets.ts";
export { schedules } from "./schedules.ts";
export type * from "./schedule-types.ts";
export type { PerStep, PerStepName } from "./per-step.ts";
export type { OptionsUpdate } from "./set-options.ts";
export type {
  Backend,
  GroupSpec,
  NonFinitePolicy,
  ResolvedOptions,
  RmspropOptions,
  StateBits,
  StepOverrides,
  TensorSpec,
  UpdateOptions,
} from "./options.ts";
export { referenceStep } from "./reference.ts";
export type { StepArrays } from "./reference.ts";
export { stepScalars, kernelFlags } from "./step-scalars.ts";
export { KernelFlag, STEP_ARGS_BYTES } from "./kernel-abi.ts";
export type { StepScalars } from "./kernel-abi.ts";
export { hasSimd } from "./features.ts";
export { instantiateKernel, type KernelExports, type KernelOptions } from "./instantiate-kernel.ts";
