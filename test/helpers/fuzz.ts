// Generators and oracles for test/fuzz.test.ts: option objects as a careless or hostile
// caller writes them (valid and invalid values, unknown keys, and the object itself as a
// Proxy, with getters, symbol keys, an inherited prototype, a Map, a revoked Proxy),
// gradients with NaN/±∞ and values that gradScale overflows, and a way to count the
// memories a call allocates.
import fc from "fast-check";
import type { GroupSpec, RmspropOptions } from "../../src/index.ts";

/** Values of every kind, for any key: what a wrong caller passes. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.constantFrom(0, 1, -1, 0.5, 2, 1e-8, 1e38, 4e38, Number.NaN, Infinity, -Infinity, 2 ** 32, 64, 65),
  fc.boolean(),
  fc.constantFrom(null, undefined, "auto", "simd", "js", "throw", "skip", "ignore", "add", "", "0.1"),
  fc.constant({}),
  fc.constant([]),
  fc.constant(10n),
);

const unit = (max = 1) => fc.double({ min: 0, max, noNaN: true });
const orNull = (a: fc.Arbitrary<number>) => fc.oneof(fc.constant(null), a);

/** A valid value per update option (so that many generated objects are accepted). */
const validUpdate = {
  lr: unit(0.5),
  beta: fc.double({ min: 0, max: 0.999, noNaN: true }),
  eps: fc.constantFrom(0, 1e-8, 1e-3),
  epsInSqrt: fc.boolean(),
  momentum: fc.constantFrom(0, 0.5, 0.9),
  lrInMomentum: fc.boolean(),
  nesterov: fc.boolean(),
  centered: fc.boolean(),
  clampVariance: fc.boolean(),
  centeredEps: fc.constantFrom("add", "subtract"),
  weightDecay: fc.constantFrom(0, 1e-3, 0.1),
  decoupledWeightDecay: fc.boolean(),
  maximize: fc.boolean(),
  biasCorrection: fc.boolean(),
  initialScale: fc.constantFrom(0, 1),
  gradScale: fc.constantFrom(1, 0.5, 2, 1024, 1 / 1024),
  clipValue: orNull(fc.constantFrom(0.1, 1, 10)),
  clipNorm: orNull(fc.constantFrom(0.1, 1, 10)),
  emaDecay: orNull(fc.constantFrom(0, 0.5, 0.99)),
};

const validTop = {
  ...validUpdate,
  backend: fc.constantFrom("auto", "simd", "scalar", "js"),
  threads: fc.constantFrom(1, 2, "auto"),
  minParamsPerThread: fc.integer({ min: 1, max: 64 }),
  threadSpinMs: fc.constantFrom(0, 0.2, 1),
  nonFinite: fc.constantFrom("throw", "skip", "ignore"),
  globalClipNorm: orNull(fc.constantFrom(0.1, 1, 10)),
};

/** Mostly valid, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 15 }, { arbitrary: anyValue, weight: 1 });

/** Sometimes: `a` one time in `every`, else undefined. */
const sometimes = <T>(a: fc.Arbitrary<T>, every: number) => fc.oneof({ arbitrary: fc.constant(undefined), weight: every - 1 }, { arbitrary: a, weight: 1 });

/** A record of a few of the keys of `model` (up to `most`), each mostly valid. */
function some(model: Record<string, fc.Arbitrary<unknown>>, most: number): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .shuffledSubarray(Object.keys(model), { maxLength: most })
    .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, mostly(model[k])]))));
}

/** An unknown key, or an alias another library uses. */
const stranger = fc.record({ key: fc.constantFrom("learningRate", "rho", "foo", "constructor", "toString", "__proto__"), value: anyValue });

/** A group: a size or tensors, some update options of its own (rarely one of the wrong ones). */
const group: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    some(validUpdate, 2),
    fc.oneof(
      fc.record({ size: mostly(fc.integer({ min: 1, max: 40 })) }),
      fc.record({ tensors: mostly(fc.array(fc.record({ size: fc.integer({ min: 1, max: 9 }) }), { minLength: 1, maxLength: 3 })) }),
    ),
  )
  .map(([options, layout]) => {
    const g: Record<string, unknown> = { ...options, ...layout };
    // Tensors need distinct names.
    if (Array.isArray(g.tensors)) g.tensors = (g.tensors as { size: number }[]).map((t, i) => ({ name: `t${Math.random().toString(36).slice(2)}${i}`, ...t }));
    return g;
  });

/** The options as the caller means them: own, plain, JSON-able where valid. */
export const rawOptions: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(some(validTop, 5), sometimes(fc.array(group, { minLength: 1, maxLength: 4 }), 3), sometimes(stranger, 10), sometimes(fc.constantFrom(2, "auto"), 3))
  .map(([o, groups, extra, threads]) => ({
    ...o,
    // Threads that run: a few parameters per thread are worth one here.
    ...(threads && o.backend !== "js" && { threads, minParamsPerThread: 1 }),
    ...(groups && { groups }),
    ...(extra && { [extra.key]: extra.value }),
  }));

/** The n the groups add up to, or any n when there are none (sometimes another one). */
export function nFor(options: Record<string, unknown>, pick: number): number {
  const groups = options.groups;
  if (!Array.isArray(groups)) return 1 + (pick % 300);
  const total = groups.reduce((sum: number, g: GroupSpec) => {
    const size = g.size ?? (Array.isArray(g.tensors) ? g.tensors.reduce((s, t) => s + (t.size ?? 0), 0) : 0);
    return sum + (typeof size === "number" ? size : 0);
  }, 0);
  return pick % 17 === 0 ? total + 1 : Math.max(1, total);
}

/** How the options object is handed over: the same own properties, or a shape that must be refused. */
export type Shape = "plain" | "proxy" | "getters" | "null-proto" | "frozen" | "symbol" | "inherited" | "map" | "throwing-getter" | "revoked";
export const shapes: fc.Arbitrary<Shape> = fc.oneof(
  { arbitrary: fc.constantFrom<Shape>("plain", "proxy", "getters", "null-proto", "frozen"), weight: 3 },
  { arbitrary: fc.constantFrom<Shape>("symbol", "inherited", "map", "throwing-getter", "revoked"), weight: 1 },
);
/** The shapes whose own properties are the options: read like the plain object. */
export const readable = (s: Shape) => ["plain", "proxy", "getters", "null-proto", "frozen"].includes(s);

/** `raw` in the shape `s`: a fresh object each call (getters count nothing; each returns its value). */
export function shaped(raw: Record<string, unknown>, s: Shape): unknown {
  const copy = { ...raw };
  switch (s) {
    case "plain":
      return copy;
    case "proxy":
      return new Proxy(copy, {});
    case "getters":
      return Object.defineProperties({}, Object.fromEntries(Object.keys(raw).map((k) => [k, { get: () => raw[k], enumerable: true }])));
    case "null-proto":
      return Object.assign(Object.create(null), copy);
    case "frozen":
      return Object.freeze(copy);
    case "symbol":
      return { ...copy, [Symbol("x")]: 1 };
    case "inherited":
      return Object.create(copy);
    case "map":
      return new Map(Object.entries(raw));
    case "throwing-getter":
      return Object.defineProperty(copy, "lr", { get: () => { throw new Error("getter"); }, enumerable: true });
    case "revoked": {
      const { proxy, revoke } = Proxy.revocable(copy, {});
      revoke();
      return proxy;
    }
  }
}

/** Object.prototype pollution for one call: a known key with any value, or none. */
export const pollution = sometimes(
  fc.record({ key: fc.constantFrom("lr", "nonFinite", "gradScale", "threads", "groups", "size", "tensors", "momentum", "maximize", "clipNorm", "emaDecay"), value: anyValue }),
  2,
);

/** Runs `run` with Object.prototype[key] = value (when given), and takes it away again. */
export async function polluted<T>(p: { key: string; value: unknown } | undefined, run: () => T | Promise<T>): Promise<T> {
  if (p) Object.defineProperty(Object.prototype, p.key, { value: p.value, configurable: true, writable: true });
  try {
    return await run();
  } finally {
    if (p) delete (Object.prototype as Record<string, unknown>)[p.key];
  }
}

/** The memories created, and their bytes, while `run` runs. */
export async function allocations<T>(run: () => Promise<T>): Promise<{ result: T | Error; memories: number; bytes: number }> {
  const Memory = WebAssembly.Memory;
  let memories = 0, bytes = 0;
  WebAssembly.Memory = new Proxy(Memory, {
    construct(target, args: [WebAssembly.MemoryDescriptor], newTarget) {
      memories++;
      bytes += args[0].initial * 65536;
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    return { result: await run().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))), memories, bytes };
  } finally {
    WebAssembly.Memory = Memory;
  }
}

/** A refusal as the API promises it: a TypeError or RangeError whose message names the argument. */
export function isNamedRefusal(e: unknown, names: RegExp): boolean {
  return (e instanceof TypeError || e instanceof RangeError) && names.test(e.message);
}

/** Step overrides as a caller writes them, and their shape. */
export const overrides = sometimes(
  fc.tuple(some({ lr: unit(0.5), gradScale: fc.constantFrom(0.5, 1, 2, 1024) }, 2), sometimes(stranger, 8), shapes),
  2,
);

/** Seeded gradients with, sometimes, NaN, ±∞ or values a gradScale above 1 overflows. */
export function gradients(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => ((s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = (next() * 2 - 1) * 10 ** (next() * 4 - 2);
  if (seed % 3 === 0) g[Math.floor(next() * n)] = [Number.NaN, Infinity, -Infinity, 3e38, -2e38, 1e37][seed % 6];
  return g;
}

/** The options that RmspropOptions accepts, for the typed calls of the tests. */
export type AnyOptions = RmspropOptions & Record<string, unknown>;
