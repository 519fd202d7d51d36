/*
 * rmsprop-wasm.h: the rmsprop-wasm kernel for wasm modules written in C, C++, Rust (through
 * bindgen) or Zig. C99, freestanding: no libc, no libm, only <stdint.h> and <stddef.h>.
 *
 * The kernel is not linked in: it is imported from the module "rmsprop-wasm" and runs on
 * the same imported memory as your code. Build for wasm32 and import the memory, e.g.
 *
 *   clang --target=wasm32 -nostdlib -O2 -I node_modules/rmsprop-wasm/include \
 *     -Wl,--no-entry -Wl,--import-memory -Wl,--export=train_step model.c -o model.wasm
 *
 * and give the host's `instantiateKernel(memory)` as the "rmsprop-wasm" import object.
 *
 * One step, per parameter (every operation rounded to f32; docs/embedding.md has the table):
 *
 *   g = grad·gSign;  g = g·clipScale, clamped to ±clipValue (CLIP)
 *   g += λ·θ (L2);  θ −= (η·λ)·θ (decoupled)
 *   S = β·S + (1−β)·g²;  G = β·G + (1−β)·g (centered)
 *   v = S·c⁻¹ (− (G·c⁻¹)², clamped at vFloor, when centered);  c = 1 − β^t or 1
 *   d = √(v + ε) or √v + ε;  u = g/d;  then θ −= η·u, or through the momentum buffer M
 *   ema = d·ema + (1 − d)·θ (EMA; EMA_INIT first sets ema = θ)
 *
 * Version 2 of the ABI adds fields at the end of the block (96 bytes) and the flags CLIP,
 * EMA, EMA_INIT and FLAGS_IN_ARGS; the kernel reads the new fields only under those flags,
 * so a module built against the first version (a 72-byte block) keeps working unchanged.
 * Version 3 (120 bytes) adds the flag Q8 and the fields it reads: S, M and G as 8-bit codes
 * with a scale per block of RMSPROP_Q8_BLOCK, and a scratch for the call.
 *
 * rmsprop_fill_step_args computes the StepArgs constants exactly as the package's
 * TypeScript does (src/step-scalars.ts): every derived constant in double, in the same
 * operation order, rounded to float once; β^t by the same binary exponentiation
 * (rmsprop_pow_u32). test/c-header.test.ts compares the two bit for bit.
 */
#ifndef RMSPROP_WASM_H
#define RMSPROP_WASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__wasm32__)
#error "rmsprop-wasm.h targets wasm32: StepArgs holds 32-bit byte offsets into linear memory"
#endif

/* Bits of the `flags` argument of rmsprop_step (assembly/abi.ts). */
#define RMSPROP_EPS_IN_SQRT 1u
#define RMSPROP_CENTERED 2u
#define RMSPROP_WD_L2 4u
#define RMSPROP_WD_DECOUPLED 8u
#define RMSPROP_MOM_HEAVY 16u
#define RMSPROP_MOM_NESTEROV 32u
#define RMSPROP_TRAFFIC_PROBE 64u
#define RMSPROP_CLIP 128u
#define RMSPROP_EMA 256u
#define RMSPROP_EMA_INIT 512u
#define RMSPROP_FLAGS_IN_ARGS 1024u
#define RMSPROP_Q8 2048u

/* The 8-bit state (RMSPROP_Q8, docs/quantization.md): elements per block (one f32 scale
   each), and the bytes of scratch one rmsprop_step call on such a block needs. */
#define RMSPROP_Q8_BLOCK 512u
#define RMSPROP_Q8_SCRATCH_BYTES (3u * RMSPROP_Q8_BLOCK * 4u + 96u)
/* The scales n elements have: one per block, the last block may be short. */
#define RMSPROP_Q8_BLOCKS(n) (((n) + RMSPROP_Q8_BLOCK - 1u) / RMSPROP_Q8_BLOCK)
/* The code map of each 8-bit array, as rmsprop_quantize_blockwise_8bit's `format` takes it. */
#define RMSPROP_Q8_SQ_AVG_FORMAT 0u          /* u8e5m3, no sign: S, or V = S − G² when centered */
#define RMSPROP_Q8_MOMENTUM_BUFFER_FORMAT 1u /* s8e3m4: M */
#define RMSPROP_Q8_GRAD_AVG_FORMAT 2u        /* s8e4m3: G */
/*
 * What rmsprop_fill_step_args returns for arguments it refuses. No valid flag set has this
 * bit; the kernel ignores it, and the refused block has n = 0, so a step on it touches
 * nothing.
 */
#define RMSPROP_INVALID 0x80000000u

/* _Static_assert is C11; clang and gcc accept it in C99 under __extension__ without a warning. */
#ifdef __cplusplus
#define RMSPROP_STATIC_ASSERT_(cond, message) static_assert(cond, message)
#else
#define RMSPROP_STATIC_ASSERT_(cond, message) __extension__ _Static_assert(cond, message)
#endif

/* The block the kernel reads: field order and offsets are the ABI. Version 1 was the first
   72 bytes; version 2 (96 bytes) appends the fields the v2 flags read, version 3 (120
   bytes) those of Q8. */
typedef struct rmsprop_step_args {
  uint32_t params;          /*  0  byte offset of θ */
  uint32_t grads;           /*  4  byte offset of g */
  uint32_t sq_avg;          /*  8  byte offset of S */
  uint32_t momentum_buffer; /* 12  byte offset of M (momentum only, else 0) */
  uint32_t grad_avg;        /* 16  byte offset of G (centered only, else 0) */
  uint32_t n;               /* 20  element count */
  float lr;                 /* 24  η */
  float beta;               /* 28  β */
  float one_minus_beta;     /* 32  1 − β, rounded once from the double */
  float eps;                /* 36  ε, negated for centered_eps_subtract */
  float g_sign;             /* 40  ±grad_scale: − to maximize */
  float wd;                 /* 44  λ */
  float lr_wd;              /* 48  η·λ, rounded once */
  float inv_c;              /* 52  1/(1 − β^t) with bias correction, else 1 */
  float v_floor;            /* 56  0 clamps the centered variance, −∞ does not */
  float mu;                 /* 60  μ */
  float u_scale;            /* 64  1, or η with lr_in_momentum */
  float theta_scale;        /* 68  η, or 1 with lr_in_momentum */
  uint32_t ema;             /* 72  v2: byte offset of the EMA of θ (EMA only, else 0) */
  float clip_scale;         /* 76  v2: norm-clipping factor, 1 for none (CLIP only) */
  float clip_value;         /* 80  v2: element clip bound, +∞ for none (CLIP only) */
  float ema_decay;          /* 84  v2: d (EMA only) */
  float one_minus_ema_decay; /* 88 v2: 1 − d, rounded once from the double */
  uint32_t flags;           /* 92  v2: the flags, read when step gets RMSPROP_FLAGS_IN_ARGS */
  uint32_t sq_avg_scales;   /* 96  v3: byte offset of the f32 scales of S's blocks (Q8 only) */
  uint32_t momentum_buffer_scales; /* 100 v3: the scales of M's blocks (Q8, momentum) */
  uint32_t grad_avg_scales; /* 104 v3: the scales of G's blocks (Q8, centered) */
  uint32_t scratch;         /* 108 v3: RMSPROP_Q8_SCRATCH_BYTES of the call's own, 16-aligned (Q8) */
  uint32_t first_index;     /* 112 v3: index of element 0 in the whole array (Q8) */
  uint32_t rounding_seed;   /* 116 v3: any value that changes from step to step (Q8) */
} rmsprop_step_args;

RMSPROP_STATIC_ASSERT_(sizeof(rmsprop_step_args) == 120, "StepArgs is 120 bytes");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, params) == 0, "StepArgs.params at 0");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, grads) == 4, "StepArgs.grads at 4");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, sq_avg) == 8, "StepArgs.sqAvg at 8");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, momentum_buffer) == 12, "StepArgs.momentumBuffer at 12");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, grad_avg) == 16, "StepArgs.gradAvg at 16");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, n) == 20, "StepArgs.n at 20");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, lr) == 24, "StepArgs.lr at 24");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, beta) == 28, "StepArgs.beta at 28");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, one_minus_beta) == 32, "StepArgs.oneMinusBeta at 32");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, eps) == 36, "StepArgs.eps at 36");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, g_sign) == 40, "StepArgs.gSign at 40");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, wd) == 44, "StepArgs.wd at 44");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, lr_wd) == 48, "StepArgs.lrWd at 48");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, inv_c) == 52, "StepArgs.invC at 52");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, v_floor) == 56, "StepArgs.vFloor at 56");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, mu) == 60, "StepArgs.mu at 60");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, u_scale) == 64, "StepArgs.uScale at 64");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, theta_scale) == 68, "StepArgs.thetaScale at 68");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, ema) == 72, "StepArgs.ema at 72");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, clip_scale) == 76, "StepArgs.clipScale at 76");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, clip_value) == 80, "StepArgs.clipValue at 80");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, ema_decay) == 84, "StepArgs.emaDecay at 84");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, one_minus_ema_decay) == 88, "StepArgs.oneMinusEmaDecay at 88");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, flags) == 92, "StepArgs.flags at 92");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, sq_avg_scales) == 96, "StepArgs.sqAvgScales at 96");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, momentum_buffer_scales) == 100, "StepArgs.momentumBufferScales at 100");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, grad_avg_scales) == 104, "StepArgs.gradAvgScales at 104");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, scratch) == 108, "StepArgs.scratch at 108");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, first_index) == 112, "StepArgs.firstIndex at 112");
RMSPROP_STATIC_ASSERT_(offsetof(rmsprop_step_args, rounding_seed) == 116, "StepArgs.roundingSeed at 116");
RMSPROP_STATIC_ASSERT_(sizeof(float) == 4 && sizeof(void *) == 4, "wasm32: f32 and 32-bit pointers");

/*
 * The update options of createRmsprop, with the same names in snake_case. Numbers are
 * doubles, like JS numbers, so the derived constants round exactly as in the package;
 * switches are ints (0 off, anything else on). centered_eps_subtract is the package's
 * centeredEps: "subtract" (tfjs's √(S − (G² + ε))); 0 is "add".
 *
 * The rules are the package's (src/options.ts): lr, eps, momentum, weight_decay and
 * initial_scale finite, ≥ 0 and ≤ FLT_MAX; 0 ≤ beta < 1; nesterov needs momentum > 0.
 * initial_scale is not part of a step: fill sq_avg with it once, before the first step.
 *
 * The training recipe (version 2): grad_scale multiplies every gradient first (finite,
 * > 0); clip_value, clip_norm and global_clip_norm are off at 0 and at most one may be
 * set; ema_decay is off when negative, else in [0, 1). clip_value is part of the step;
 * clip_norm and global_clip_norm need a norm first (rmsprop_sum_squares_f32, then
 * rmsprop_clip_by_norm), and ema_decay an EMA array (rmsprop_use_ema).
 */
typedef struct rmsprop_options {
  double lr;
  double beta;
  double eps;
  int eps_in_sqrt;
  double momentum;
  int lr_in_momentum;
  int nesterov;
  int centered;
  int clamp_variance;
  int centered_eps_subtract;
  double weight_decay;
  int decoupled_weight_decay;
  int maximize;
  int bias_correction;
  double initial_scale;
  double grad_scale;
  double clip_value;
  double clip_norm;
  double global_clip_norm;
  double ema_decay;
} rmsprop_options;

/* The package's defaults (defaultOptions in src/options.ts). */
static inline rmsprop_options rmsprop_default_options(void) {
  rmsprop_options o;
  o.lr = 0.01;
  o.beta = 0.9;
  o.eps = 1e-8;
  o.eps_in_sqrt = 1;
  o.momentum = 0;
  o.lr_in_momentum = 0;
  o.nesterov = 0;
  o.centered = 0;
  o.clamp_variance = 1;
  o.centered_eps_subtract = 0;
  o.weight_decay = 0;
  o.decoupled_weight_decay = 0;
  o.maximize = 0;
  o.bias_correction = 0;
  o.initial_scale = 0;
  o.grad_scale = 1;
  o.clip_value = 0;
  o.clip_norm = 0;
  o.global_clip_norm = 0;
  o.ema_decay = -1;
  return o;
}

/*
 * base^t by binary exponentiation in double: the squarings and products in this order are
 * what the package's powU32 (src/step-scalars.ts) does, so both sides get the same bits
 * where Math.pow and a libm pow could differ in the last place.
 */
static inline double rmsprop_pow_u32(double base, uint32_t t) {
  double result = 1.0;
  while (t != 0) {
    if (t & 1u) result *= base;
    base *= base;
    t >>= 1;
  }
  return result;
}

#define RMSPROP_FLT_MAX_ 3.4028234663852886e38
/* 2^128 − 2^103: the smallest double that rounds to an infinite float (compared in double,
   because converting an out-of-range double to float is undefined in C). */
#define RMSPROP_F32_OVERFLOW_ 3.4028235677973366e38

/* Finite, ≥ 0 and ≤ FLT_MAX (false for NaN, whose comparisons are all false). */
static inline int rmsprop_fits_f32_(double x) { return x >= 0 && x <= RMSPROP_FLT_MAX_; }

/* > 0 and still > 0 as a float: what grad_scale and a clip bound that is on must be. */
static inline int rmsprop_positive_f32_(double x) { return rmsprop_fits_f32_(x) && (float)x > 0; }

/* A clip option: 0 (off) or positive. */
static inline int rmsprop_clip_ok_(double x) { return x == 0 || rmsprop_positive_f32_(x); }

/* Byte offset of a float array in linear memory; 4-byte alignment is the kernel's rule. */
static inline int rmsprop_aligned_(const float *p) { return ((uintptr_t)p & 3u) == 0; }

/*
 * Fills `args` for step t (from 1) over n elements and returns the flags to pass to
 * rmsprop_step with it. momentum_buffer may be NULL when momentum is 0, grad_avg when not
 * centered. Change o->lr between calls for a schedule.
 *
 * Arguments it refuses, checked before anything is written, give RMSPROP_INVALID and a
 * block with n = 0 (so a step on it does nothing): a NULL args or options pointer; an
 * option outside its rule (see rmsprop_options); t = 0; a NULL or misaligned array the
 * options need; a derived constant (η·λ, 1/(1 − β^t)) that overflows f32.
 */
static inline uint32_t rmsprop_fill_step_args(rmsprop_step_args *args, const rmsprop_options *o, uint32_t t,
                                              float *params, float *grads, float *sq_avg,
                                              float *momentum_buffer, float *grad_avg, uint32_t n) {
  if (args == NULL) return RMSPROP_INVALID;
  args->n = 0;
  if (o == NULL || t == 0) return RMSPROP_INVALID;
  if (!rmsprop_fits_f32_(o->lr) || !rmsprop_fits_f32_(o->eps) || !rmsprop_fits_f32_(o->momentum) ||
      !rmsprop_fits_f32_(o->weight_decay) || !rmsprop_fits_f32_(o->initial_scale) || !(o->beta >= 0 && o->beta < 1) ||
      (o->nesterov && o->momentum == 0) || !rmsprop_positive_f32_(o->grad_scale) || !rmsprop_clip_ok_(o->clip_value) ||
      !rmsprop_clip_ok_(o->clip_norm) || !rmsprop_clip_ok_(o->global_clip_norm) ||
      (o->clip_value > 0) + (o->clip_norm > 0) + (o->global_clip_norm > 0) > 1 || !(o->ema_decay < 1)) {
    return RMSPROP_INVALID;
  }
  int momentum = o->momentum > 0, centered = o->centered != 0;
  if (params == NULL || grads == NULL || sq_avg == NULL || (momentum && momentum_buffer == NULL) ||
      (centered && grad_avg == NULL) || !rmsprop_aligned_(params) || !rmsprop_aligned_(grads) ||
      !rmsprop_aligned_(sq_avg) || !rmsprop_aligned_(momentum_buffer) || !rmsprop_aligned_(grad_avg)) {
    return RMSPROP_INVALID;
  }
  double lr_wd = o->lr * o->weight_decay;
  double inv_c = o->bias_correction ? 1 / (1 - rmsprop_pow_u32(o->beta, t)) : 1;
  if (!(lr_wd < RMSPROP_F32_OVERFLOW_) || !(inv_c < RMSPROP_F32_OVERFLOW_)) return RMSPROP_INVALID;

  uint32_t flags = 0;
  if (o->eps_in_sqrt) flags |= RMSPROP_EPS_IN_SQRT;
  if (centered) flags |= RMSPROP_CENTERED;
  if (o->weight_decay > 0) flags |= o->decoupled_weight_decay ? RMSPROP_WD_DECOUPLED : RMSPROP_WD_L2;
  if (momentum) flags |= o->nesterov ? RMSPROP_MOM_NESTEROV : RMSPROP_MOM_HEAVY;
  if (o->clip_value > 0) flags |= RMSPROP_CLIP;

  args->params = (uint32_t)(uintptr_t)params;
  args->grads = (uint32_t)(uintptr_t)grads;
  args->sq_avg = (uint32_t)(uintptr_t)sq_avg;
  args->momentum_buffer = momentum ? (uint32_t)(uintptr_t)momentum_buffer : 0;
  args->grad_avg = centered ? (uint32_t)(uintptr_t)grad_avg : 0;
  args->lr = (float)o->lr;
  args->beta = (float)o->beta;
  args->one_minus_beta = (float)(1 - o->beta);
  /* tfjs's centered root √(S − (G² + ε)) is the kernel's √(v + ε) with ε negated. */
  args->eps = centered && o->centered_eps_subtract ? -(float)o->eps : (float)o->eps;
  args->g_sign = o->maximize ? -(float)o->grad_scale : (float)o->grad_scale;
  args->wd = (float)o->weight_decay;
  args->lr_wd = (float)lr_wd;
  args->inv_c = (float)inv_c;
  args->v_floor = o->clamp_variance ? 0.0f : -__builtin_inff();
  args->mu = (float)o->momentum;
  args->u_scale = o->lr_in_momentum ? (float)o->lr : 1.0f;
  args->theta_scale = o->lr_in_momentum ? 1.0f : (float)o->lr;
  args->ema = 0;
  args->clip_scale = 1.0f;
  args->clip_value = o->clip_value > 0 ? (float)o->clip_value : __builtin_inff();
  args->ema_decay = 0.0f;
  args->one_minus_ema_decay = 1.0f;
  args->flags = flags;
  args->sq_avg_scales = 0;
  args->momentum_buffer_scales = 0;
  args->grad_avg_scales = 0;
  args->scratch = 0;
  args->first_index = 0;
  args->rounding_seed = 0;
  args->n = n;
  return flags;
}

/*
 * Keeps an EMA of θ in `ema` (n floats, 4-byte aligned) with o->ema_decay, for a block
 * rmsprop_fill_step_args filled for step t: the first step (t = 1) starts the EMA at θ.
 * Returns the flags to step with, or RMSPROP_INVALID (and n = 0) when ema_decay is off,
 * ema is NULL or misaligned, or `flags` already is RMSPROP_INVALID.
 */
static inline uint32_t rmsprop_use_ema(rmsprop_step_args *args, uint32_t flags, const rmsprop_options *o, uint32_t t,
                                       float *ema) {
  if (args == NULL) return RMSPROP_INVALID;
  if (flags == RMSPROP_INVALID || o == NULL || !(o->ema_decay >= 0 && o->ema_decay < 1) || ema == NULL ||
      !rmsprop_aligned_(ema)) {
    args->n = 0;
    return RMSPROP_INVALID;
  }
  flags |= RMSPROP_EMA | (t == 1 ? RMSPROP_EMA_INIT : 0u);
  args->ema = (uint32_t)(uintptr_t)ema;
  args->ema_decay = (float)o->ema_decay;
  args->one_minus_ema_decay = (float)(1 - o->ema_decay);
  args->flags = flags;
  return flags;
}

/* Elements per block of rmsprop_sum_squares_f32, and the doubles `out` needs for n of them. */
#define RMSPROP_NORM_BLOCK 1024u
#define RMSPROP_NORM_BLOCKS(n) (((n) + RMSPROP_NORM_BLOCK - 1u) / RMSPROP_NORM_BLOCK)

/* The blocks' sums added in order: the squared norm, as the package adds them. */
static inline double rmsprop_sum_blocks(const double *sums, uint32_t blocks) {
  double total = 0;
  for (uint32_t b = 0; b < blocks; b++) total += sums[b];
  return total;
}

/*
 * Puts PyTorch's clip_grad_norm_ factor min(1, max_norm / (norm + 1e-6)), rounded to float
 * once, into a filled block, in the package's order (g·grad_scale, then ·factor): a factor
 * of 1 changes nothing; with grad_scale 1 it joins g_sign; else the CLIP variant multiplies
 * twice. Returns the flags to step with. norm is the L2 norm (the square root of the sums).
 */
static inline uint32_t rmsprop_clip_by_norm(rmsprop_step_args *args, uint32_t flags, double max_norm, double norm) {
  if (flags == RMSPROP_INVALID) return flags;
  double q = max_norm / (norm + 1e-6);
  float factor = (q != q || q < 1) ? (float)q : 1.0f; /* NaN stays NaN, as Math.min(1, NaN) is */
  if (factor == 1.0f) return flags;
  if ((args->g_sign == 1.0f || args->g_sign == -1.0f) && !(flags & RMSPROP_CLIP)) {
    args->g_sign = args->g_sign * factor;
  } else {
    args->clip_scale = factor;
    flags |= RMSPROP_CLIP;
  }
  args->flags = flags;
  return flags;
}

#undef RMSPROP_FLT_MAX_
#undef RMSPROP_F32_OVERFLOW_

/* One step as described by `args`, with the flags rmsprop_fill_step_args returned. */
__attribute__((import_module("rmsprop-wasm"), import_name("step")))
void rmsprop_step(uint32_t flags, const rmsprop_step_args *args);

/* Index of the first NaN or ±∞ among the n floats at p, or −1; reads only. */
__attribute__((import_module("rmsprop-wasm"), import_name("first_nonfinite_f32")))
int32_t rmsprop_first_nonfinite_f32(const float *p, uint32_t n);

/*
 * Index of the first of the n floats at p whose product with scale, rounded to float as
 * the step's g·g_sign is, is NaN or ±∞, or −1; reads only. A grad_scale above 1 can
 * overflow a finite gradient: scan with |g_sign| then (with a scale ≤ 1,
 * rmsprop_first_nonfinite_f32 finds the same index, faster).
 */
__attribute__((import_module("rmsprop-wasm"), import_name("first_nonfinite_scaled_f32")))
int32_t rmsprop_first_nonfinite_scaled_f32(const float *p, uint32_t n, float scale);

/*
 * Σ (p[i]·scale)² in blocks of RMSPROP_NORM_BLOCK: block b's sum into out[b] (8-byte
 * aligned, RMSPROP_NORM_BLOCKS(n) doubles). Returns the first block whose sum is NaN or
 * ±∞ (a non-finite gradient), or −1. Add the blocks with rmsprop_sum_blocks.
 */
__attribute__((import_module("rmsprop-wasm"), import_name("sum_squares_f32")))
int32_t rmsprop_sum_squares_f32(const float *p, uint32_t n, float scale, double *out);

/*
 * The n floats at src as n 8-bit codes and RMSPROP_Q8_BLOCKS(n) float block scales (each a
 * power of two), rounded to nearest, in code map `format` (RMSPROP_Q8_*_FORMAT).
 */
__attribute__((import_module("rmsprop-wasm"), import_name("quantize_blockwise_8bit")))
void rmsprop_quantize_blockwise_8bit(uint32_t format, const float *src, uint32_t n, uint8_t *codes, float *scales);

/* The n floats that n codes and their blocks' scales stand for, exactly, to out. */
__attribute__((import_module("rmsprop-wasm"), import_name("dequantize_blockwise_8bit")))
void rmsprop_dequantize_blockwise_8bit(uint32_t format, const uint8_t *codes, const float *scales, uint32_t n, float *out);

/*
 * 8-bit state (version 3, the package's stateBits: 8). Each of S, M and G that the options
 * need is n code bytes and RMSPROP_Q8_BLOCKS(n) floats of scales (4-byte aligned); S holds
 * V = S − G² when centered. Block b covers elements [512·b, 512·b + 512) of the array, so
 * a call that starts at element k (k a multiple of 512) takes codes + k and scales + k / 512.
 * One call needs a scratch of RMSPROP_Q8_SCRATCH_BYTES, 16-byte aligned, of its own.
 * θ, g and the EMA stay float arrays.
 */
typedef struct rmsprop_q8_array {
  uint8_t *codes;
  float *scales;
} rmsprop_q8_array;

typedef struct rmsprop_q8_state {
  rmsprop_q8_array sq_avg;
  rmsprop_q8_array momentum_buffer; /* momentum > 0 only */
  rmsprop_q8_array grad_avg;        /* centered only */
  void *scratch;
} rmsprop_q8_state;

static inline int rmsprop_q8_array_ok_(const rmsprop_q8_array *a) {
  return a->codes != NULL && a->scales != NULL && ((uintptr_t)a->scales & 3u) == 0;
}

/*
 * Sets all n elements of an 8-bit array to `value`, with the codes and scales the package
 * gives them (an array of one value, rounded to nearest): before the first step, S to
 * o.initial_scale and M, G to 0. Encodes through the scratch, whole blocks at a time.
 * Returns 0, or RMSPROP_INVALID (nothing written) for a bad format, a NULL or misaligned
 * pointer, or a value that is negative for S's map, NaN or infinite.
 */
static inline uint32_t rmsprop_q8_fill(uint32_t format, float value, rmsprop_q8_array a, void *scratch, uint32_t n) {
  if (format > RMSPROP_Q8_GRAD_AVG_FORMAT || !rmsprop_q8_array_ok_(&a) || scratch == NULL || ((uintptr_t)scratch & 15u) ||
      !(value - value == 0) || (format == RMSPROP_Q8_SQ_AVG_FORMAT && value < 0)) {
    return RMSPROP_INVALID;
  }
  const uint32_t chunk = RMSPROP_Q8_SCRATCH_BYTES / 4u / RMSPROP_Q8_BLOCK * RMSPROP_Q8_BLOCK;
  float *values = (float *)scratch;
  for (uint32_t i = 0; i < chunk && i < n; i++) values[i] = value;
  for (uint32_t k = 0; k < n; k += chunk) {
    uint32_t len = n - k < chunk ? n - k : chunk;
    rmsprop_quantize_blockwise_8bit(format, values, len, a.codes + k, a.scales + k / RMSPROP_Q8_BLOCK);
  }
  return 0;
}

/*
 * rmsprop_fill_step_args for 8-bit state: fills the block for step t over the n elements
 * at params, grads and the codes and scales of `q`, and returns the flags (with
 * RMSPROP_Q8) to pass to rmsprop_step. first_index is the index of element 0 in the whole
 * array (0 for a whole array; k for a call that steps from element k): the stochastic
 * rounding draws from it and from t, as the package does, so the bits are the package's.
 * It refuses, with RMSPROP_INVALID and n = 0, what rmsprop_fill_step_args refuses, a NULL
 * q, an array the options need without codes or with misaligned scales, and a NULL or
 * misaligned scratch. rmsprop_use_ema and rmsprop_clip_by_norm work on the block as usual.
 */
static inline uint32_t rmsprop_fill_step_args_q8(rmsprop_step_args *args, const rmsprop_options *o, uint32_t t,
                                                 float *params, float *grads, const rmsprop_q8_state *q,
                                                 uint32_t first_index, uint32_t n) {
  /* The f32 fill checks the options, θ and g; params stands in for the float state it
     would check, which the codes replace below. */
  uint32_t flags = rmsprop_fill_step_args(args, o, t, params, grads, params, params, params, n);
  if (flags == RMSPROP_INVALID) return flags;
  int momentum = (flags & (RMSPROP_MOM_HEAVY | RMSPROP_MOM_NESTEROV)) != 0, centered = (flags & RMSPROP_CENTERED) != 0;
  if (q == NULL || !rmsprop_q8_array_ok_(&q->sq_avg) || (momentum && !rmsprop_q8_array_ok_(&q->momentum_buffer)) ||
      (centered && !rmsprop_q8_array_ok_(&q->grad_avg)) || q->scratch == NULL || ((uintptr_t)q->scratch & 15u)) {
    args->n = 0;
    return RMSPROP_INVALID;
  }
  args->sq_avg = (uint32_t)(uintptr_t)q->sq_avg.codes;
  args->sq_avg_scales = (uint32_t)(uintptr_t)q->sq_avg.scales;
  args->momentum_buffer = momentum ? (uint32_t)(uintptr_t)q->momentum_buffer.codes : 0;
  args->momentum_buffer_scales = momentum ? (uint32_t)(uintptr_t)q->momentum_buffer.scales : 0;
  args->grad_avg = centered ? (uint32_t)(uintptr_t)q->grad_avg.codes : 0;
  args->grad_avg_scales = centered ? (uint32_t)(uintptr_t)q->grad_avg.scales : 0;
  args->scratch = (uint32_t)(uintptr_t)q->scratch;
  args->first_index = first_index;
  args->rounding_seed = t;
  flags |= RMSPROP_Q8;
  args->flags = flags;
  return flags;
}

#ifdef __cplusplus
}
#endif

#endif /* RMSPROP_WASM_H */
