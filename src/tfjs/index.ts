// rmsprop-wasm/tfjs: the kernel as a TensorFlow.js optimizer. The only module of the
// package that imports @tensorflow/tfjs-core (an optional peer dependency).
export { tfjsRmsprop, TfjsRmsprop, type TfjsStepOverrides } from "./optimizer.ts";
export type { TfjsVariableLike } from "./variables.ts";
export type { TfjsGroupSpec, TfjsRmspropOptions } from "./options.ts";
