// The optimizer state as tfjs lists it in getWeights()/setWeights(): after the iteration
// count, the state arrays in the order of the table of state arrays (src/state-arrays.ts),
// each as "<variable>/<tfjsSuffix>" for every variable that keeps it: S as "/rms", then M as
// "/momentum" and G as "/mg" (tfjs's RMSProp order, so model.save stores it), then the EMA
// as "/ema". State kept in 8 bits is listed decoded, as float32 values, and written back
// encoded (src/state-codec.ts), so saved models and their loaders never see the codes.
import * as tf from "@tensorflow/tfjs-core";
import { brokenState } from "../checkpoint.ts";
import { STATE_VIEWS, type ArrayName } from "../state-arrays.ts";
import { writeOrder } from "../state-codec.ts";
import type { SlotEngine } from "./engine.ts";
import type { SlotNeeds } from "./slots.ts";

/** A named tensor, as getWeights() lists them (tfjs-core exports only the map form). */
export type NamedTensor = { name: string; tensor: tf.Tensor };

/** One state tensor's name and values, as setWeights() received them. */
export type StateEntry = { name: string; values: Float32Array };

/** The state tensors of these variables, in order: the slot, array and suffix of each. */
function stateList(needs: readonly SlotNeeds[]): { state: ArrayName; suffix: string; slot: number }[] {
  const list: { state: ArrayName; suffix: string; slot: number }[] = [];
  for (const row of STATE_VIEWS) {
    if (row.tfjsSuffix === null) continue;
    needs.forEach((need, slot) => {
      if (row.needed(need.options)) list.push({ state: row.name, suffix: row.tfjsSuffix!, slot });
    });
  }
  return list;
}

/** The engine's state as new named tensors (copies), in order. */
export function stateTensors(engine: SlotEngine, variables: readonly tf.Variable[], needs: readonly SlotNeeds[]): NamedTensor[] {
  return stateList(needs).map(({ state, suffix, slot }) => ({
    name: `${variables[slot].name}/${suffix}`,
    tensor: tf.tensor(engine.read(slot, state), variables[slot].shape, "float32"),
  }));
}

/**
 * The state list that `entries` follow: every array these variables keep, or all but the
 * EMA, which state saved before the EMA was kept lacks (it then starts from θ at the next
 * step, as on a first step). By position: names change when a model is loaded twice.
 */
function restoredList(entries: readonly StateEntry[], needs: readonly SlotNeeds[]) {
  const full = stateList(needs);
  const withoutEma = full.filter((e) => e.state !== "ema");
  return entries.length === withoutEma.length && withoutEma.length < full.length ? withoutEma : full;
}

/**
 * Throws unless `entries` is the state these variables keep, in order (the EMA may be
 * missing); returns whether it holds the EMA.
 */
export function checkStateEntries(entries: readonly StateEntry[], variables: readonly tf.Variable[], needs: readonly SlotNeeds[]): { ema: boolean } {
  const want = restoredList(entries, needs);
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
  return { ema: want.some((e) => e.state === "ema") };
}

/**
 * Refuses state values that no run of an optimizer with this nonFinite policy produces, as
 * load() does (src/checkpoint.ts): each entry is judged by the rule of the array its suffix
 * names ("/rms" is S, …), so before the optimizer knows its variables too.
 */
export function checkStateValues(entries: readonly StateEntry[], nonFinite: string): void {
  for (const e of entries) {
    const row = STATE_VIEWS.find((a) => a.tfjsSuffix !== null && e.name.endsWith(`/${a.tfjsSuffix}`));
    const broken = row && brokenState(row.name, e.values, nonFinite);
    if (broken) {
      throw new RangeError(
        `setWeights: "${e.name}"[${broken.index}] is ${broken.value}, which no run produces (${broken.rule}` +
          `${nonFinite === "ignore" ? "" : `; this optimizer's nonFinite is "${nonFinite}"`}); nothing was changed`,
      );
    }
  }
}

/**
 * Writes entries checked by checkStateEntries into the engine's state: 8-bit state rounded
 * to nearest, which gives back the very codes and scales of values getWeights() read out of
 * them (docs/tfjs.md), G before S where S is stored less G².
 */
export function writeStateEntries(engine: SlotEngine, entries: readonly StateEntry[], needs: readonly SlotNeeds[]): void {
  const list = restoredList(entries, needs).map((e, k) => ({ ...e, values: entries[k].values }));
  for (const { state, slot, values } of writeOrder(list, (e) => e.state)) engine.write(slot, state, values);
}
