// The variables an optimizer owns: tf.Variables, or tfjs-layers LayerVariables (which
// model.trainableWeights holds), checked before anything is compiled or allocated.
import * as tf from "@tensorflow/tfjs-core";
import { MAX_TENSORS } from "../options.ts";
import { describe, ownArray, reading } from "../own.ts";

/** A `tf.Variable`, or a tfjs-layers `LayerVariable` (what `model.trainableWeights` holds). */
export type TfjsVariableLike = tf.Variable | { read(): tf.Tensor };

/** The tf.Variable behind `v`, checked to be one the kernel can step. */
function toVariable(v: unknown, at: string): tf.Variable {
  const read = (v as { read?: unknown } | null)?.read;
  const variable = v instanceof tf.Variable ? v : typeof read === "function" ? (read.call(v) as unknown) : undefined;
  if (!(variable instanceof tf.Variable)) {
    throw new TypeError(`${at} must be a tf.Variable or a tfjs-layers LayerVariable (model.trainableWeights); got ${describe(v)}`);
  }
  if (variable.isDisposed) throw new Error(`variable "${variable.name}" is disposed`);
  if (variable.dtype !== "float32") {
    throw new TypeError(`variable "${variable.name}" is ${variable.dtype}; rmsprop-wasm steps float32 variables only`);
  }
  if (variable.size < 1) throw new RangeError(`variable "${variable.name}" has shape [${variable.shape}], which holds no parameters`);
  return variable;
}

/** Validates the variables an optimizer is to own (before anything is compiled or allocated). */
export function checkVariables(variables: unknown): tf.Variable[] {
  const what = "tf.Variable or LayerVariable (model.trainableWeights)";
  const given = reading("variables", () => Array.isArray(variables)) ? ownArray("variables", variables, MAX_TENSORS, what) : [];
  if (given.length === 0) {
    throw new TypeError(`variables must be a non-empty array of ${what}; got ${describe(variables)}`);
  }
  const out = given.map((v, i) => toVariable(v, `variables[${i}]`));
  const seen = new Set<string>();
  for (const v of out) {
    if (seen.has(v.name)) throw new RangeError(`variables holds "${v.name}" twice`);
    seen.add(v.name);
  }
  return out;
}

/** The registered variables named by the non-null gradients of a first applyGradients call. */
export function variablesNamed(entries: readonly [string, unknown][]): tf.Variable[] {
  const registered = tf.engine().registeredVariables;
  const named = entries.filter(([, g]) => g != null).map(([name]) => {
    if (!registered[name]) throw new Error(`applyGradients: a gradient for "${name}", but no variable has that name`);
    return registered[name];
  });
  return checkVariables(named);
}
