// Other libraries' schedules, transcribed from their sources into f64 JavaScript (Math.cos and
// Math.pow stand in for jnp's and the Keras backend's), each with the file and function it
// was read from. test/schedules.test.ts checks `schedules.valueAt` against them.

type Fn = (t: number) => number;

/** optax/schedules/_schedule.py, polynomial_schedule with power 1 (what linear_schedule returns). */
export function optaxLinear(init: number, end: number, transitionSteps: number, transitionBegin = 0): Fn {
  if (transitionSteps <= 0) return () => init;
  return (t) => {
    const count = Math.min(Math.max(t - transitionBegin, 0), transitionSteps);
    const frac = 1 - count / transitionSteps;
    return (init - end) * frac ** 1 + end;
  };
}

/** optax/schedules/_schedule.py, cosine_decay_schedule. */
export function optaxCosineDecay(init: number, decaySteps: number, alpha = 0, exponent = 1): Fn {
  return (t) => {
    const count = Math.min(t, decaySteps);
    const cosineDecay = 0.5 * (1 + Math.cos((Math.PI * count) / decaySteps));
    const decayed = (1 - alpha) * cosineDecay ** exponent + alpha;
    return init * decayed;
  };
}

/** optax/schedules/_schedule.py, exponential_decay. */
export function optaxExponentialDecay(
  init: number,
  transitionSteps: number,
  decayRate: number,
  transitionBegin = 0,
  staircase = false,
  endValue: number | null = null,
): Fn {
  return (t) => {
    const decreased = t - transitionBegin;
    let p = decreased / transitionSteps;
    if (staircase) p = Math.floor(p);
    let value = decreased <= 0 ? init : init * decayRate ** p;
    if (endValue !== null) value = decayRate < 1 ? Math.max(value, endValue) : Math.min(value, endValue);
    return value;
  };
}

/** optax/schedules/_schedule.py, piecewise_constant_schedule: init times every scale whose boundary t has reached. */
export function optaxPiecewiseConstant(init: number, boundariesAndScales: Record<number, number>): Fn {
  const sorted = Object.entries(boundariesAndScales)
    .map(([b, s]) => [Number(b), s] as const)
    .sort((a, b) => a[0] - b[0]);
  return (t) => {
    let v = init;
    for (const [threshold, scale] of sorted) {
      const indicator = Math.max(0, Math.sign(threshold - t));
      v = v * indicator + (1 - indicator) * scale * v;
    }
    return v;
  };
}

/** optax/schedules/_join.py, join_schedules: each schedule counts from its boundary. */
export function optaxJoin(parts: readonly Fn[], boundaries: readonly number[]): Fn {
  return (t) => {
    let output = parts[0](t);
    boundaries.forEach((boundary, i) => {
      output = t < boundary ? output : parts[i + 1](t - boundary);
    });
    return output;
  };
}

/** optax/schedules/_schedule.py, warmup_cosine_decay_schedule (decaySteps is the whole length). */
export function optaxWarmupCosineDecay(init: number, peak: number, warmupSteps: number, decaySteps: number, end = 0): Fn {
  const alpha = peak === 0 ? 0 : end / peak;
  return optaxJoin([optaxLinear(init, peak, warmupSteps), optaxCosineDecay(peak, decaySteps - warmupSteps, alpha)], [warmupSteps]);
}

/** keras/src/optimizers/schedules/learning_rate_schedule.py, ExponentialDecay.__call__. */
export function kerasExponentialDecay(initial: number, decaySteps: number, decayRate: number, staircase = false): Fn {
  return (t) => {
    let p = t / decaySteps;
    if (staircase) p = Math.floor(p);
    return initial * decayRate ** p;
  };
}

/** keras/src/optimizers/schedules/learning_rate_schedule.py, PiecewiseConstantDecay.__call__: values[i] while t ≤ boundaries[i]. */
export function kerasPiecewiseConstantDecay(boundaries: readonly number[], values: readonly number[]): Fn {
  return (t) => {
    let result = 0;
    result += (t <= boundaries[0] ? 1 : 0) * values[0];
    result += (t > boundaries[boundaries.length - 1] ? 1 : 0) * values[values.length - 1];
    for (let i = 0; i + 1 < boundaries.length; i++) {
      result += (t > boundaries[i] && t <= boundaries[i + 1] ? 1 : 0) * values[i + 1];
    }
    return result;
  };
}

/** keras/src/optimizers/schedules/learning_rate_schedule.py, PolynomialDecay.__call__ without cycle. */
export function kerasPolynomialDecay(initial: number, decaySteps: number, end: number, power = 1): Fn {
  return (t) => {
    const step = Math.min(t, decaySteps);
    return (initial - end) * (1 - step / decaySteps) ** power + end;
  };
}

/** keras/src/optimizers/schedules/learning_rate_schedule.py, CosineDecay.__call__ (with warmup when warmupTarget is given). */
export function kerasCosineDecay(initial: number, decaySteps: number, alpha = 0, warmupTarget: number | null = null, warmupSteps = 0): Fn {
  const decay = (step: number, from: number) => {
    const completedFraction = step / decaySteps;
    const cosineDecayed = 0.5 * (1 + Math.cos(Math.PI * completedFraction));
    const decayed = (1 - alpha) * cosineDecayed + alpha;
    return from * decayed;
  };
  return (t) => {
    if (warmupTarget === null) return decay(Math.min(t, decaySteps), initial);
    const step = Math.min(t, decaySteps + warmupSteps);
    if (step < warmupSteps) {
      const completedFraction = step / warmupSteps;
      return (warmupTarget - initial) * completedFraction + initial;
    }
    return decay(step - warmupSteps, warmupTarget);
  };
}
