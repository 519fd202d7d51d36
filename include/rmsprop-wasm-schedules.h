/*
 * rmsprop-wasm-schedules.h: the package's schedules (src/schedules.ts) for C hosts, with the
 * same bits as `schedules.valueAt`. C99, freestanding like rmsprop-wasm.h: no libm. Every
 * value is computed in double with + − × ÷ only, in the package's operation order: cos(π·p)
 * by the same series (src/schedule-math.ts), base^t by the same squarings
 * (rmsprop_pow_u32). test/c-header.test.ts compares them with the TypeScript bit for bit.
 *
 * t is the package's step count: the applied steps before this one, 0 for the first, which
 * is rmsprop_fill_step_args's t − 1. A host sets the option before filling the block:
 *
 *   o.lr = rmsprop_schedule_cosine(1e-3, 0, 1000, t - 1);   // then rmsprop_fill_step_args(&args, &o, t, ...)
 *
 * Joins and piecewise values are a comparison in the host's own code:
 *
 *   o.lr = t - 1 < 100 ? rmsprop_schedule_linear(1e-5, 1e-3, 100, t - 1)
 *                      : rmsprop_schedule_cosine(1e-3, 0, 900, t - 1 - 100);
 *
 * Not here (the host computes them itself, as it computes any value of its own): an
 * exponential decay with a fractional exponent (every > 1 without staircase, which needs
 * e^x and ln x), OneCycleLR's linear anneal and three phases. The package's lrScale is a
 * product the host makes: o.lr = lr·scale.
 */
#ifndef RMSPROP_WASM_SCHEDULES_H
#define RMSPROP_WASM_SCHEDULES_H

#include "rmsprop-wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cos(π·p) for p in [0, 1]: reduced to [0, 1/4] exactly, then Taylor's series to degree 18
   by Horner's rule, with the coefficients 1/k! (each a correctly rounded quotient). */
static inline double rmsprop_cos_pi(double p) {
  static const double inv[20] = {
    1.0 / 1, 1.0 / 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
    1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0, 1.0 / 87178291200.0, 1.0 / 1307674368000.0,
    1.0 / 20922789888000.0, 1.0 / 355687428096000.0, 1.0 / 6402373705728000.0, 1.0 / 121645100408832000.0,
  };
  const double pi = 3.141592653589793;
  int odd = 0;
  double sign = 1, x;
  if (p <= 0.25) {
    x = pi * p;
  } else if (p <= 0.75) {
    x = pi * (p - 0.5); /* cos(π·p) = −sin(π·(p − 1/2)) */
    odd = 1;
    sign = -1;
  } else {
    x = pi * (1 - p); /* cos(π·p) = −cos(π·(1 − p)) */
    sign = -1;
  }
  double z = x * x, sum = 0;
  for (int k = 9; k >= 0; k--) sum = sum * z + ((k & 1) ? -inv[2 * k + odd] : inv[2 * k + odd]);
  return odd ? sign * (x * sum) : sign * sum;
}

/* schedules.linear: from + (to − from)·(t/steps), then `to` from step `steps` on. */
static inline double rmsprop_schedule_linear(double from, double to, double steps, double t) {
  return t >= steps ? to : from + (to - from) * (t / steps);
}

/* schedules.cosine (PyTorch's CosineAnnealingLR): to + (from − to)·(1 + cos(π·t/steps))/2, then `to`. */
static inline double rmsprop_schedule_cosine(double from, double to, double steps, double t) {
  return t >= steps ? to : to + ((from - to) * (1 + rmsprop_cos_pi(t / steps))) / 2;
}

/* schedules.step (PyTorch's StepLR): from·factor^⌊t/every⌋. */
static inline double rmsprop_schedule_step(double from, double factor, uint32_t every, uint32_t t) {
  return from * rmsprop_pow_u32(factor, t / every);
}

/*
 * schedules.exponential with a whole exponent: every = 1 (PyTorch's ExponentialLR), or
 * staircase: from·rate^⌊t/every⌋, held at `end` when has_end (a floor for rate < 1, a
 * ceiling above).
 */
static inline double rmsprop_schedule_exponential_staircase(double from, double rate, uint32_t every, int has_end, double end,
                                                            uint32_t t) {
  double value = from * rmsprop_pow_u32(rate, t / every);
  if (!has_end) return value;
  return rate < 1 ? (value > end ? value : end) : (value < end ? value : end);
}

/* schedules.warmupCosine (optax's warmup_cosine_decay_schedule); steps includes the warmup. */
static inline double rmsprop_schedule_warmup_cosine(double init, double peak, double warmup, double steps, double end, double t) {
  if (t < warmup) {
    double frac = 1 - t / warmup;
    return (init - peak) * frac + peak;
  }
  double decay_steps = steps - warmup;
  double count = t - warmup < decay_steps ? t - warmup : decay_steps;
  double cosine_decay = 0.5 * (1 + rmsprop_cos_pi(count / decay_steps));
  double alpha = peak == 0 ? 0 : end / peak;
  return peak * ((1 - alpha) * cosine_decay + alpha);
}

/* PyTorch's OneCycleLR cosine anneal over two phases: start → peak until step first_end, then → final at step last_end. */
static inline double rmsprop_one_cycle_(double start, double peak, double final, double first_end, double last_end, double t) {
  double step = t < last_end ? t : last_end;
  double from = start, to = peak, begin = 0, end = first_end;
  if (step > first_end) {
    from = peak;
    to = final;
    begin = first_end;
    end = last_end;
  }
  double pct = (step - begin) / (end - begin);
  return to + ((from - to) / 2) * (rmsprop_cos_pi(pct) + 1);
}

/* schedules.oneCycle (PyTorch's OneCycleLR, anneal "cos", two phases): the rate. */
static inline double rmsprop_schedule_one_cycle(double max, double steps, double pct_start, double div_factor,
                                                double final_div_factor, double t) {
  double initial = max / div_factor;
  return rmsprop_one_cycle_(initial, max, initial / final_div_factor, pct_start * steps - 1, steps - 1, t);
}

/* schedules.oneCycleMomentum: the momentum OneCycleLR cycles against the rate, max → base → max. */
static inline double rmsprop_schedule_one_cycle_momentum(double base, double max, double steps, double pct_start, double t) {
  return rmsprop_one_cycle_(max, base, max, pct_start * steps - 1, steps - 1, t);
}

#ifdef __cplusplus
}
#endif

#endif /* RMSPROP_WASM_SCHEDULES_H */
