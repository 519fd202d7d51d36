// The checks every example model that calls the kernel itself must pass (examples/c-model's
// perceptron, ported to Rust and Zig): it trains, each of its variants steps to the bits of
// createRmsprop fed the same gradients, and a NaN gradient is skipped without a write.
import { expect, it } from "vitest";
import { createRmsprop } from "../../src/index.ts";
import { bitReport } from "./data.ts";
// @ts-expect-error: a plain .mjs example without types
import { PORTED_VARIANTS, train as trainC } from "../../examples/c-model/train.mjs";

export interface ModelExports {
  model_variant_count(): number;
  model_param_count(): number;
  model_params(): number;
  model_grads(): number;
  model_sq_avg(): number;
  model_momentum_buffer(): number;
  model_grad_avg(): number;
  /** The C model's only: the EMA array and the last step's gradient norm (the recipe variant). */
  model_ema?(): number;
  model_grad_norm?(): number;
  model_init(variant: number, seed: number): void;
  model_loss_and_grad(): number;
  model_step(): number;
  model_accuracy(): number;
}

export interface ExampleModel {
  loadModel(options?: { backend?: "auto" | "simd" | "scalar" }): Promise<{ memory: WebAssembly.Memory; model: ModelExports }>;
  train(options?: { variant?: number; steps?: number; seed?: number }): Promise<{ losses: number[]; finalLoss: number; accuracy: number }>;
}

type Variant = { name: string; options: Record<string, unknown> };

export function exampleModelTests(example: ExampleModel): void {
  it("trains the perceptron from a loss above 1 to below 0.06 and 98% accuracy", () => expectTrains(example));

  // The same data, weights and f64/f32 arithmetic in the same order as model.c, so the
  // curves agree bit for bit: a check of the port, independent of the optimizer check below.
  it("gives examples/c-model's loss curve, bit for bit (variant 4: Nesterov, bias correction)", async () => {
    const [mine, c] = await Promise.all([example.train({ variant: 4, steps: 200, seed: 5 }), trainC({ variant: 4, steps: 200, seed: 5 })]);
    expect(new Float64Array(mine.losses)).toEqual(new Float64Array(c.losses));
    expect(mine.accuracy).toBe(c.accuracy);
  });

  // The ports fill the block without the training recipe (version 2's clipping and EMA): the
  // C model's first six variants. Its seventh, the recipe, stays the C model's.
  const ported = PORTED_VARIANTS as Variant[];
  it.each(ported.map((v, i) => [v.name, i, (["auto", "simd", "scalar"] as const)[i % 3]] as const))(
    "%s: the model's own steps give createRmsprop's bits on the same gradients (kernel %s)",
    (_, variant, backend) => expectVariantBits(example, ported, variant, backend),
  );

  it("skips a step with a NaN gradient through first_nonfinite_f32, changing nothing", () => expectNanSkipped(example));
}

/** 400 full-batch steps take the loss from above 1 to below 0.06, falling, to 98% accuracy. */
export async function expectTrains(example: Pick<ExampleModel, "train">): Promise<void> {
  const { losses, finalLoss, accuracy } = await example.train({ variant: 0, steps: 400 });
  expect(losses[0]).toBeGreaterThan(1);
  expect(finalLoss).toBeLessThan(0.06);
  expect(accuracy).toBeGreaterThan(0.98);
  for (let t = 50; t < losses.length; t += 50) expect(losses[t]).toBeLessThan(losses[t - 50]);
}

/** A NaN gradient makes model_step return its index and leaves every byte of the memory alone. */
export async function expectNanSkipped(example: Pick<ExampleModel, "loadModel">): Promise<void> {
  const { memory, model } = await example.loadModel();
  model.model_init(1, 3);
  model.model_loss_and_grad();
  const grads = new Float32Array(memory.buffer, model.model_grads(), model.model_param_count());
  grads[77] = NaN;
  const before = Buffer.from(memory.buffer.slice(0));
  expect(model.model_step()).toBe(77);
  expect(before.equals(Buffer.from(memory.buffer))).toBe(true);
}

/**
 * Steps variant `variant` of `variants` (the model's own list, in its order) 150 times in
 * the model and in createRmsprop fed the same gradients, and compares every array (and the
 * gradient norm, where the model reports one) bit for bit after each step.
 */
export async function expectVariantBits(
  example: Pick<ExampleModel, "loadModel">,
  variants: readonly Variant[],
  variant: number,
  backend: "auto" | "simd" | "scalar",
): Promise<void> {
  const { memory, model } = await example.loadModel({ backend });
  expect(model.model_variant_count()).toBe(variants.length);
  const n = model.model_param_count();
  const view = (at: number) => new Float32Array(memory.buffer, at, n);
  model.model_init(variant, 7);
  const opt = await createRmsprop(n, variants[variant].options);
  opt.params.set(view(model.model_params()));
  const arrays: [string, () => number][] = [
    ["sqAvg", model.model_sq_avg], ["momentumBuffer", model.model_momentum_buffer], ["gradAvg", model.model_grad_avg],
    ...(model.model_ema ? [["ema", model.model_ema] as [string, () => number]] : []),
  ];
  for (let t = 1; t <= 150; t++) {
    model.model_loss_and_grad();
    opt.grads.set(view(model.model_grads()));
    expect(model.model_step()).toBe(-1);
    const result = opt.stepSync();
    if (result.gradNorm !== undefined) expect(model.model_grad_norm!(), `gradNorm at step ${t}`).toBe(result.gradNorm);
    expect(bitReport(`params at step ${t}`, view(model.model_params()), opt.params)).toBe("");
    const state = opt.state as unknown as Record<string, Float32Array | undefined>;
    for (const [name, at] of arrays) {
      if (state[name]) expect(bitReport(`${name} at step ${t}`, view(at()), state[name])).toBe("");
    }
  }
  opt.dispose();
}

/** The fenced code block of `lang` under the README heading `heading` (the first such block). */
export function readmeSnippet(readme: string, heading: string, lang: string): string {
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading ${heading}`);
  const match = readme.slice(start).match(new RegExp("```" + lang + "\\n([\\s\\S]*?)```"));
  if (!match) throw new Error(`README has no ${lang} block under ${heading}`);
  return match[1];
}
