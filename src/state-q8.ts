// What only an optimizer with 8-bit state (or one converting a checkpoint of it) needs,
// loaded by src/create.ts only then, so that a page of f32 optimizers never downloads the
// code maps: the views of codes and scales, reading and filling the state through
// src/state-codec.ts, and checkpoints through src/state-transfer.ts.
//
// The views: θ, g and the EMA in f32; each state array in f32 (`opt.state`) where every
// group keeps it so, as codes and scales (`opt.state8`) where every group keeps it in 8
// bits, and each group's own part (`opt.groups[k].state`, `.state8`) in every case. An array
// that is here in neither form (some groups at 8 bits, some at 32) is a getter that throws,
// saying where its values are.
import type { GroupPlan } from "./groups.ts";
import type { Layout } from "./layout.ts";
import type { StepArrays } from "./reference.ts";
import { fillSegment, readSegment, type StateMemory } from "./state-codec.ts";
import {
  STATE_ARRAYS, STATE_VIEWS, type QuantizedState, type RmspropState, type RmspropState8, type StateArraySpec, type StateName,
} from "./state-arrays.ts";
import { allAt, type Segment, type StoragePlan } from "./state-storage.ts";
import { hasArray, type StateViews } from "./state-views.ts";

export { checkQuantized, writeSaved } from "./state-transfer.ts";

/** A segment's 8-bit views of a row. */
function quantizedView(buffer: ArrayBufferLike, layout: Layout, row: StateArraySpec, seg: Pick<Segment, "at" | "size" | "scalesAt" | "blocks">): QuantizedState {
  const p = layout.parts[row.name];
  return Object.freeze({
    format: row.q8!.format,
    codes: new Uint8Array(buffer, p.codes + seg.at, seg.size),
    scales: new Float32Array(buffer, p.scales + 4 * seg.scalesAt, seg.blocks),
  });
}

/** Defines `name` on `target` as a getter that throws `message` (not enumerable: spreading skips it). */
function unavailable(target: object, name: string, message: string): void {
  Object.defineProperty(target, name, {
    enumerable: false,
    get() {
      throw new TypeError(message);
    },
  });
}

/** The views of `layout` over `buffer`, with the state stored as `storage` says. */
export function stateViews(buffer: ArrayBufferLike, layout: Layout, storage: StoragePlan, plans: readonly GroupPlan[]): StateViews {
  const n = layout.n;
  const f32: Partial<StepArrays> = {};
  for (const a of STATE_ARRAYS) if (!a.q8 && layout[a.name]) f32[a.name] = new Float32Array(buffer, layout[a.name], n);
  const state: Record<string, unknown> = {};
  const state8: Record<string, unknown> = {};
  for (const row of STATE_VIEWS) {
    if (!hasArray(layout, row.name)) continue;
    if (!row.q8 || allAt(storage, 32)) {
      state[row.name] = new Float32Array(buffer, layout.parts[row.name].values, n);
      continue;
    }
    const read = `opt.readState("${row.name}")`;
    if (allAt(storage, 8)) {
      state8[row.name] = quantizedView(buffer, layout, row, { at: 0, size: n, scalesAt: 0, blocks: storage.blocks });
      unavailable(state, row.name, `opt.state.${row.name}: this optimizer keeps ${row.symbol} in 8 bits (stateBits: 8); ${read} reads its values, opt.state8.${row.name} holds its codes and scales`);
      continue;
    }
    const why = `some groups keep ${row.symbol} in 8 bits and others in f32; ${read} reads its values, opt.groups[k].state and .state8 hold each group's`;
    unavailable(state, row.name, `opt.state.${row.name}: ${why}`);
    unavailable(state8, row.name, `opt.state8.${row.name}: ${why}`);
  }
  const groups = plans.map((plan, g) => {
    const seg = storage.groups[g];
    const part = (x: Float32Array) => x.subarray(plan.offset, plan.offset + plan.size);
    const own: Record<string, Float32Array> = {};
    const own8: Record<string, QuantizedState> = {};
    for (const row of STATE_VIEWS) {
      if (!hasArray(layout, row.name)) continue;
      if (!row.q8) own[row.name] = part(f32[row.name]!);
      else if (seg.bits === 32) own[row.name] = new Float32Array(buffer, layout.parts[row.name].values + 4 * seg.at, seg.size);
      else own8[row.name] = quantizedView(buffer, layout, row, seg);
    }
    return {
      params: part(f32.params!),
      grads: part(f32.grads!),
      ema: f32.ema && part(f32.ema),
      state: Object.freeze(own) as Partial<RmspropState>,
      state8: Object.freeze(own8) as RmspropState8,
    };
  });
  return { f32, state: Object.freeze(state) as unknown as RmspropState, state8: Object.freeze(state8) as RmspropState8, groups };
}

/**
 * `opt.readState(name)`: the values of a state array, n f32 in parameter order, as the step
 * reads them (decoded where 8-bit; S of a centered 8-bit group is V + G²). A copy.
 */
export function readState(memory: StateMemory, storage: StoragePlan, centered: readonly boolean[], name: StateName): Float32Array {
  const out = new Float32Array(storage.n);
  storage.units.forEach((seg, u) => readSegment(memory, name, seg, centered[u], out));
  return out;
}

/**
 * Every state array at its table's initial value, unit by unit (someone else's memory may
 * hold anything there): S at its group's initialScale, stored as the group stores it.
 */
export function fillInitial(memory: StateMemory, layout: Layout, storage: StoragePlan, initial: (unit: number, row: StateArraySpec) => number): void {
  storage.units.forEach((seg, u) => {
    for (const a of STATE_VIEWS) if (hasArray(layout, a.name)) fillSegment(memory, a.name, seg, initial(u, a));
  });
}
