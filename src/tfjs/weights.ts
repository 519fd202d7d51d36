// The optimizer state as tfjs lists it in getWeights()/setWeights(): after the iteration
// count, every variable's S as "<name>/rms", then M as "<name>/momentum" and G as "<name>/mg"
// for the variables that keep them (tfjs's RMSProp order, so model.save stores it).
import * as tf from "@tensorflow/tfjs-core";
import type { SlotEngine, StateName } from "./engine.ts";

/** A named tensor, as getWeights() lists them (tfjs-core exports only the map form). */
export type NamedTensor = { name: string; tensor: tf.Tensor };

/** One state tensor's name and values, as setWeights() received them. */
export type StateEntry = { name: string; values: Float32Array };

/** Which state each slot keeps, and how many values. */
export type StateNeeds = { size: number; momentumBuffer: boolean; gradAvg: boolean };

const STATE_SUFFIXES: readonly [StateName, string][] = [
  ["sqAvg", "rms"],
  ["momentumBuffer", "momentum"],
  ["gradAvg", "mg"],
];

/** The state tensors of these variables, in order: the slot and state of each. */
function stateList(needs: readonly StateNeeds[]): { state: StateName; suffix: string; slot: number }[] {
  const list: { state: StateName; suffix: string; slot: number }[] = [];
  for (const [state, suffix] of STATE_SUFFIXES) {
    needs.forEach((need, slot) => {
      if (state === "sqAvg" || need[state]) list.push({ state, suffix, slot });
    });
  }
  return list;
}

/** The engine's state as new named tensors (copies), in order. */
export function stateTensors(engine: SlotEngine, variables: readonly tf.Variable[], needs: readonly StateNeeds[]): NamedTensor[] {
  return stateList(needs).map(({ state, suffix, slot }) => ({
    name: `${variables[slot].name}/${suffix}`,
    tensor: tf.tensor(engine.state(slot, state)!.slice(), variables[slot].shape, "float32"),
  }));
}

/** Throws unless `entries` is exactly the state these variables keep, in order (by position: names change on reload). */
export function checkStateEntries(entries: readonly StateEntry[], variables: readonly tf.Variable[], needs: readonly StateNeeds[]): void {
  const want = stateList(needs);
  if (entries.length !== want.length) {
    throw new RangeError(
      `setWeights: got ${entries.length} state tensors, but ${variables.length} variables with these options keep ${want.length}; nothing was changed`,
    );
  }
  want.forEach(({ suffix, slot }, k) => {
    const e = entries[k];
    if (!e.name.endsWith(`/${suffix}`) || e.values.length !== needs[slot].size) {
      throw new RangeError(
        `setWeights: state tensor ${k + 1} should be "${variables[slot].name}/${suffix}" with ${needs[slot].size} values; ` +
          `got "${e.name}" with ${e.values.length}; nothing was changed`,
      );
    }
  });
}

/** Writes entries checked by checkStateEntries into the engine's state. */
export function writeStateEntries(engine: SlotEngine, entries: readonly StateEntry[], needs: readonly StateNeeds[]): void {
  stateList(needs).forEach(({ state, slot }, k) => engine.state(slot, state)!.set(entries[k].values));
}
