import { createRmsprop, type Rmsprop, type RmspropOptions } from "../../src/index.ts";
import type { Backend } from "../../src/options.ts";

/** Every combination of the options that select a different kernel instance (36). */
export function everyKernelVariant(): RmspropOptions[] {
  const out: RmspropOptions[] = [];
  for (const epsInSqrt of [true, false])
    for (const centered of [false, true])
      for (const wd of ["none", "l2", "decoupled"] as const)
        for (const mom of ["none", "heavy", "nesterov"] as const)
          out.push({
            epsInSqrt,
            centered,
            ...(wd !== "none" && { weightDecay: 0.01, decoupledWeightDecay: wd === "decoupled" }),
            ...(mom !== "none" && { momentum: 0.9, nesterov: mom === "nesterov" }),
          });
  return out;
}

/** One optimizer per backend, all starting from the same params, grads and state. */
export async function sideBySide(
  n: number,
  options: RmspropOptions,
  start: { params: Float32Array; grads: Float32Array },
  backends: Backend[] = ["simd", "scalar", "js"],
): Promise<Rmsprop[]> {
  const opts = await Promise.all(backends.map((backend) => createRmsprop(n, { ...options, backend })));
  for (const opt of opts) {
    opt.params.set(start.params);
    opt.grads.set(start.grads);
  }
  return opts;
}
