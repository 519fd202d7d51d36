// docs/scaling.md in process: R ranks, each an optimizer over its contiguous shard, with the
// reduce-scatter of the gradients and the all-gather of the parameters done here in place
// of a collective engine. The shards must give exactly the bits of one optimizer over all
// n, and their per-rank checkpoints must re-shard to another R and continue the same way.
import { describe, expect, it } from "vitest";
import { createRmsprop, presets, restoreRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { CHECKPOINT_ARRAYS, decodeCheckpoint, encodeCheckpoint, type CheckpointContent } from "../src/checkpoint.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";

/** [start, end) of every rank, as docs/scaling.md cuts them: on multiples of 16 floats. */
function shardRanges(n: number, ranks: number): [number, number][] {
  const chunk = Math.ceil(n / ranks / 16) * 16;
  return Array.from({ length: ranks }, (_, r) => [Math.min(n, r * chunk), Math.min(n, (r + 1) * chunk)]);
}

/** A rank: its range, its optimizer (none for an empty range) and its full replica of θ. */
interface Rank {
  start: number;
  end: number;
  shard: Rmsprop | undefined;
  replica: Float32Array;
}

/**
 * Rank r's mini-batch gradient of a noisy quadratic at its replica θ, over all n:
 * g = c ⊙ θ + noise, in f32, with curvatures c from 1e-2 to 1e2.
 */
function localGradient(theta: Float32Array, rank: number, step: number): Float32Array {
  const noise = uniformFloats(theta.length, 1000 * step + rank, 0.5);
  return theta.map((x, i) => Math.fround(Math.fround(10 ** ((i % 5) - 2) * x) + noise[i]));
}

/** The engine's reduce-scatter, as a mean summed in rank order: rank `r` gets [start, end). */
function reduceScatter(local: Float32Array[], start: number, end: number, into: Float32Array): void {
  for (let i = start; i < end; i++) {
    let sum = 0;
    for (const g of local) sum = Math.fround(sum + g[i]);
    into[i - start] = Math.fround(sum / local.length);
  }
}

/**
 * One data-parallel step: `batches` mini-batch gradients, each on a rank's own replica,
 * reduce-scattered to the shards; each shard steps; the shards are all-gathered.
 */
async function shardedStep(ranks: Rank[], batches: number, step: number, lr: number): Promise<void> {
  const local = Array.from({ length: batches }, (_, b) => localGradient(ranks[b % ranks.length].replica, b, step));
  for (const rank of ranks) if (rank.shard) reduceScatter(local, rank.start, rank.end, rank.shard.grads);
  for (const rank of ranks) if (rank.shard) await rank.shard.step({ lr });
  for (const rank of ranks) for (const from of ranks) if (from.shard) rank.replica.set(from.shard.params, from.start);
}

/** The same step on one optimizer over all n: the all-reduce, then one step. */
async function wholeStep(whole: Rmsprop, ranks: number, step: number, lr: number): Promise<void> {
  const local = Array.from({ length: ranks }, (_, r) => localGradient(whole.params, r, step));
  reduceScatter(local, 0, whole.n, whole.grads);
  await whole.step({ lr });
}

async function startRanks(n: number, count: number, options: RmspropOptions, theta: Float32Array): Promise<Rank[]> {
  return Promise.all(
    shardRanges(n, count).map(async ([start, end]) => {
      const shard = end > start ? await createRmsprop(end - start, options) : undefined;
      shard?.params.set(theta.subarray(start, end));
      return { start, end, shard, replica: theta.slice() };
    }),
  );
}

/** Reads every rank's checkpoint (the documented format) and cuts the whole state anew for `count` ranks. */
function reshard(checkpoints: { start: number; bytes: Uint8Array }[], n: number, count: number): Uint8Array[] {
  const parts = checkpoints.map(({ start, bytes }) => ({ start, content: decodeCheckpoint(bytes) }));
  const first = parts[0].content;
  for (const { content } of parts) {
    expect(content.stepCount).toBe(first.stepCount);
    expect(JSON.stringify(content.options)).toBe(JSON.stringify(first.options));
  }
  const whole: CheckpointContent["arrays"] = {};
  for (const name of CHECKPOINT_ARRAYS) {
    if (!first.arrays[name]) continue;
    const all = new Float32Array(n);
    for (const { start, content } of parts) all.set(content.arrays[name]!, start);
    whole[name] = all;
  }
  return shardRanges(n, count)
    .filter(([start, end]) => end > start)
    .map(([start, end]) => {
      const arrays: CheckpointContent["arrays"] = {};
      for (const name of CHECKPOINT_ARRAYS) if (whole[name]) arrays[name] = whole[name]!.subarray(start, end);
      return encodeCheckpoint({ n: end - start, stepCount: first.stepCount, options: first.options, arrays });
    });
}

function expectSameBits(ranks: Rank[], whole: Rmsprop, when: string): void {
  for (const [r, rank] of ranks.entries()) {
    expect(bitReport(`rank ${r}'s replica of params ${when}`, rank.replica, whole.params)).toBe("");
    if (!rank.shard) continue;
    const part = (a: Float32Array) => a.subarray(rank.start, rank.end);
    expect(bitReport(`rank ${r} sqAvg ${when}`, rank.shard.state.sqAvg, part(whole.state.sqAvg))).toBe("");
    if (whole.state.momentumBuffer) {
      expect(bitReport(`rank ${r} momentumBuffer ${when}`, rank.shard.state.momentumBuffer!, part(whole.state.momentumBuffer))).toBe("");
    }
    if (whole.state.gradAvg) expect(bitReport(`rank ${r} gradAvg ${when}`, rank.shard.state.gradAvg!, part(whole.state.gradAvg))).toBe("");
  }
}

const variants: [string, RmspropOptions][] = [
  ["defaults", {}],
  ["PyTorch with momentum and L2", { ...presets.pytorch, momentum: 0.9, weightDecay: 1e-3 }],
  ["optax: Nesterov, bias correction", { ...presets.optax, momentum: 0.9, nesterov: true, biasCorrection: true }],
  ["centered and clamped, ε outside the root, L2", { centered: true, epsInSqrt: false, weightDecay: 1e-3 }],
  ["Keras: decoupled weight decay, maximize", { ...presets.keras, weightDecay: 0.01, maximize: true }],
  ["tfjs centered", { ...presets.tfjs, centered: true, momentum: 0.5 }],
];

describe("ZeRO-1 sharding (docs/scaling.md), simulated in process", () => {
  it("cuts shards on multiples of 16 floats; a rank past n owns nothing", () => {
    expect(shardRanges(1003, 4)).toEqual([[0, 256], [256, 512], [512, 768], [768, 1003]]);
    expect(shardRanges(70, 4)).toEqual([[0, 32], [32, 64], [64, 70], [70, 70]]);
    expect(shardRanges(1003, 2)).toEqual([[0, 512], [512, 1003]]);
  });

  describe.each([1003, 70])("n = %i", (n) => {
    it.each(variants)("%s: 4 ranks give one optimizer's bits, and re-shard from 4 to 2 ranks mid-run", async (_, options) => {
      const theta = uniformFloats(n, 5, 2);
      const whole = await createRmsprop(n, options);
      whole.params.set(theta);
      let ranks = await startRanks(n, 4, options, theta);
      const lrAt = (step: number) => Math.fround(0.01 * 0.9 ** step); // a schedule, through step({ lr })
      for (let step = 1; step <= 6; step++) {
        await shardedStep(ranks, 4, step, lrAt(step));
        await wholeStep(whole, 4, step, lrAt(step));
        expectSameBits(ranks, whole, `after step ${step} on 4 ranks`);
      }
      // Each rank saves its own checkpoint; the state is cut again for 2 ranks and restored.
      const checkpoints = ranks.filter((rank) => rank.shard).map((rank) => ({ start: rank.start, bytes: rank.shard!.save() }));
      for (const rank of ranks) rank.shard?.dispose();
      const restored = await Promise.all(reshard(checkpoints, n, 2).map((bytes) => restoreRmsprop(bytes)));
      ranks = shardRanges(n, 2).map(([start, end], r) => ({ start, end, shard: restored[r], replica: whole.params.slice() }));
      expect(ranks.map((rank) => rank.shard?.stepCount)).toEqual([6, 6]);
      expectSameBits(ranks, whole, "after re-sharding to 2 ranks");
      // Steps 7–12 on 2 ranks; the gradient is still the mean of 4 mini-batches (the data
      // parallelism is unchanged, only the optimizer is cut differently).
      for (let step = 7; step <= 12; step++) {
        await shardedStep(ranks, 4, step, lrAt(step));
        await wholeStep(whole, 4, step, lrAt(step));
        expectSameBits(ranks, whole, `after step ${step} on 2 ranks`);
      }
      for (const rank of ranks) rank.shard!.dispose();
      whole.dispose();
    });
  });
});
