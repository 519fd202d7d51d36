// The views an optimizer hands out over its memory, from the table of state arrays and the
// storage plan, where no group keeps 8-bit state (src/state-q8.ts has the views of one that
// does, loaded only then), and what every optimizer needs: its parts as views, its groups,
// its arrays in a checkpoint's form.
import type { GroupPlan } from "./groups.ts";
import type { RmspropGroup } from "./optimizer-types.ts";
import type { UpdateOptions } from "./options.ts";
import type { Layout } from "./layout.ts";
import type { StepArrays } from "./reference.ts";
import type { CheckpointContent } from "./checkpoint.ts";
import { QUANT_SCRATCH_BYTES } from "./quant-sizes.ts";
import type { StateMemory, StoredArray } from "./state-codec.ts";
import { CHECKPOINT_ARRAYS, STATE_ARRAYS, STATE_VIEWS, type ArrayName, type RmspropState, type RmspropState8 } from "./state-arrays.ts";
import { elementsOf, type StoragePlan } from "./state-storage.ts";

/** Every view over one buffer. */
export interface StateViews {
  /** θ, g and the arrays kept in f32 whatever the storage (the EMA), each of n. */
  readonly f32: Partial<StepArrays>;
  readonly state: RmspropState;
  readonly state8: RmspropState8;
  /** Per group, in plan order: θ and g, and its state. */
  readonly groups: readonly {
    params: Float32Array;
    grads: Float32Array;
    ema?: Float32Array;
    /** Its f32 state arrays: the EMA, and S, M, G where the group keeps them in f32. */
    state: Readonly<Partial<RmspropState>>;
    /** Its 8-bit state arrays (stateBits 8). */
    state8: RmspropState8;
  }[];
}

/** Whether the optimizer has this array (some part of it is laid out). */
export const hasArray = (layout: Layout, name: ArrayName): boolean => {
  const p = layout.parts[name];
  return p.values !== 0 || p.codes !== 0;
};

/**
 * The views of `layout` over `buffer` where every array is f32 (no group keeps 8-bit state):
 * `opt.state` and each group's `state` are subarrays of the arrays, `state8` is empty.
 */
export function f32Views(buffer: ArrayBufferLike, layout: Layout, _storage: StoragePlan, plans: readonly GroupPlan[]): StateViews {
  const f32: Partial<StepArrays> = {};
  for (const a of STATE_ARRAYS) if (layout[a.name]) f32[a.name] = new Float32Array(buffer, layout[a.name], layout.n);
  const state: Record<string, Float32Array> = {};
  for (const row of STATE_VIEWS) if (f32[row.name]) state[row.name] = f32[row.name]!;
  const groups = plans.map((plan) => {
    const part = (x: Float32Array) => x.subarray(plan.offset, plan.offset + plan.size);
    const own: Record<string, Float32Array> = {};
    for (const row of STATE_VIEWS) if (f32[row.name]) own[row.name] = part(f32[row.name]!);
    return { params: part(f32.params!), grads: part(f32.grads!), ema: f32.ema && part(f32.ema), state: Object.freeze(own), state8: Object.freeze({}) };
  });
  return { f32, state: Object.freeze(state) as unknown as RmspropState, state8: Object.freeze({}), groups };
}

/** The checkpoint's form of an optimizer's arrays: f32 where every element is f32, else the 8-bit storage's parts. */
export function savedArrays(parts: StateMemory["parts"]): Pick<CheckpointContent, "arrays" | "quantized"> {
  const arrays: CheckpointContent["arrays"] = {};
  const quantized: NonNullable<CheckpointContent["quantized"]> = {};
  for (const row of CHECKPOINT_ARRAYS) {
    const p = parts[row.name];
    if (!p) continue;
    if (p.codes && p.scales) quantized[row.name] = { values: p.values ?? new Float32Array(0), codes: p.codes, scales: p.scales };
    else arrays[row.name] = p.values;
  }
  return { arrays, ...(Object.keys(quantized).length > 0 && { quantized }) };
}

/** Each array's parts as views of `buffer`, and the (first) 8-bit scratch: the state as src/state-codec.ts reads it. */
export function storedState(buffer: ArrayBufferLike, layout: Layout, storage: StoragePlan): { parts: Partial<Record<ArrayName, StoredArray>>; scratch?: Float32Array } {
  const parts: Partial<Record<ArrayName, StoredArray>> = {};
  for (const row of STATE_ARRAYS) {
    if (!hasArray(layout, row.name)) continue;
    const p = layout.parts[row.name];
    const n8 = elementsOf(row, storage, 8);
    parts[row.name] = {
      values: p.values ? new Float32Array(buffer, p.values, elementsOf(row, storage, 32)) : undefined,
      codes: p.codes ? new Uint8Array(buffer, p.codes, n8) : undefined,
      scales: p.codes ? new Float32Array(buffer, p.scales, storage.blocks) : undefined,
    };
  }
  return { parts, scratch: layout.scratch ? new Float32Array(buffer, layout.scratch, QUANT_SCRATCH_BYTES / 4) : undefined };
}

/** Whether a group of these plans keeps S as S − G² (centered), by unit. */
export const centeredUnits = (plans: readonly GroupPlan[], unitGroups: readonly number[]): boolean[] =>
  unitGroups.map((g) => plans[g].options.centered);

/** A group as `opt.groups[k]` shows it: its plan, views and tensors. */
export function publicGroup(plan: GroupPlan, views: StateViews["groups"][number], setOptions: (partial: UpdateOptions) => void): RmspropGroup {
  const tensors = plan.tensors.map((t) => {
    const local = t.offset - plan.offset;
    return Object.freeze({
      name: t.name,
      group: plan.name,
      offset: t.offset,
      size: t.size,
      shape: Object.freeze([...t.shape]),
      params: views.params.subarray(local, local + t.size),
      grads: views.grads.subarray(local, local + t.size),
    });
  });
  return Object.freeze({
    name: plan.name,
    offset: plan.offset,
    size: plan.size,
    // What setOptions last set: a getter, as the plan's options are replaced, not changed.
    get options() {
      return plan.options;
    },
    setOptions,
    params: views.params,
    grads: views.grads,
    state: views.state,
    state8: views.state8,
    tensors: Object.freeze(tensors),
  });
}

/** A checkpoint of f32 arrays into an optimizer of f32 arrays (an EMA the checkpoint lacks starts at its weights). */
export function writeF32(parts: StateMemory["parts"], content: CheckpointContent): void {
  for (const { name } of CHECKPOINT_ARRAYS) {
    const from = content.arrays[name] ?? (name === "ema" ? content.arrays.params : undefined);
    if (from) parts[name]?.values?.set(from);
  }
}
