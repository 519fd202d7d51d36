/*
 * A two-layer perceptron in C that trains itself with rmsprop-wasm: the forward and
 * backward pass write `grads`, and model_step() fills a StepArgs block with the header and
 * calls the kernel, imported from "rmsprop-wasm", on the memory both share. No libc.
 *
 * Task: points in [−3, 3]², labelled by the ring they fall in (r < 1.1, r < 2.1, farther),
 * a problem no linear model solves. 2 inputs → H ReLU units → 3 softmax outputs, full batch.
 */
#include "rmsprop-wasm.h"

#define POINTS 600
#define INPUTS 2
#define HIDDEN 32
#define CLASSES 3
/* θ, in this order: W1 [HIDDEN][INPUTS], b1 [HIDDEN], W2 [CLASSES][HIDDEN], b2 [CLASSES]. */
#define W1 0
#define B1 (W1 + HIDDEN * INPUTS)
#define W2 (B1 + HIDDEN)
#define B2 (W2 + CLASSES * HIDDEN)
#define PARAMS (B2 + CLASSES)

/* The optimizer's arrays, 16-byte aligned for the kernel's vector loads. */
static float params[PARAMS] __attribute__((aligned(16)));
static float grads[PARAMS] __attribute__((aligned(16)));
static float sq_avg[PARAMS] __attribute__((aligned(16)));
static float momentum_buffer[PARAMS] __attribute__((aligned(16)));
static float grad_avg[PARAMS] __attribute__((aligned(16)));
static float ema[PARAMS] __attribute__((aligned(16)));
static double norm_sums[RMSPROP_NORM_BLOCKS(PARAMS)];
static rmsprop_step_args step_args;
static rmsprop_options options;
static uint32_t steps_done;

static float x[POINTS][INPUTS];
static uint32_t label[POINTS];

/* mulberry32, the PRNG of the package's tests. */
static uint32_t rng_state;
static double uniform(void) {
  uint32_t t = (rng_state += 0x6d2b79f5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

/* e^x for x ≤ 0 (softmax after subtracting the max): 2^k · e^r with |r| ≤ ln2/2. */
static double exp_nonpositive(double v) {
  if (v < -700) return 0;
  double k = __builtin_floor(v * 1.4426950408889634 + 0.5);
  double r = v - k * 0.6931471805599453, term = 1, sum = 1;
  for (int i = 1; i < 14; i++) {
    term *= r / i;
    sum += term;
  }
  union { double d; uint64_t u; } scale;
  scale.u = (uint64_t)((int64_t)k + 1023) << 52;
  return sum * scale.d;
}

/* ln v for v in [1, CLASSES] (a softmax denominator): 2·atanh((v − 1)/(v + 1)). */
static double log_small(double v) {
  double s = (v - 1) / (v + 1), s2 = s * s, power = s, sum = 0;
  for (int i = 1; i < 60; i += 2) {
    sum += power / i;
    power *= s2;
  }
  return 2 * sum;
}

/* The variants the tests compare with createRmsprop; train.mjs lists the same options. */
static rmsprop_options variant(uint32_t which) {
  rmsprop_options o = rmsprop_default_options();
  switch (which) {
    case 1: /* PyTorch-style heavy ball with L2 weight decay, ε outside the root */
      o.lr = 0.003, o.beta = 0.99, o.eps_in_sqrt = 0, o.momentum = 0.9, o.weight_decay = 1e-4;
      break;
    case 2: /* centered, with the learning rate inside the momentum buffer */
      o.lr = 0.005, o.centered = 1, o.momentum = 0.5, o.lr_in_momentum = 1, o.eps = 1e-7;
      break;
    case 3: /* Keras 3: decoupled weight decay */
      o.lr = 0.005, o.eps = 1e-7, o.weight_decay = 0.01, o.decoupled_weight_decay = 1;
      break;
    case 4: /* optax: Nesterov and bias correction */
      o.lr = 0.003, o.momentum = 0.9, o.nesterov = 1, o.lr_in_momentum = 1, o.bias_correction = 1;
      break;
    case 5: /* TensorFlow 1: S starts at 1 */
      o.lr = 0.01, o.eps = 1e-10, o.initial_scale = 1;
      break;
    case 6: /* the training recipe: a loss scale undone, global norm clipping, an EMA of the weights */
      o.lr = 0.01, o.grad_scale = 0.25, o.global_clip_norm = 0.05, o.ema_decay = 0.9;
      break;
    default:
      break;
  }
  return o;
}

uint32_t model_variant_count(void) { return 7; }
uint32_t model_param_count(void) { return PARAMS; }
float *model_params(void) { return params; }
float *model_grads(void) { return grads; }
float *model_sq_avg(void) { return sq_avg; }
float *model_momentum_buffer(void) { return momentum_buffer; }
float *model_grad_avg(void) { return grad_avg; }
float *model_ema(void) { return ema; }

/* Seeded data and weights, and fresh optimizer state for the chosen variant. */
void model_init(uint32_t which, uint32_t seed) {
  rng_state = seed;
  for (int i = 0; i < POINTS; i++) {
    double a = uniform() * 6 - 3, b = uniform() * 6 - 3, r = __builtin_sqrt(a * a + b * b);
    x[i][0] = (float)a;
    x[i][1] = (float)b;
    label[i] = r < 1.1 ? 0 : r < 2.1 ? 1 : 2;
  }
  /* He-style uniform scale for the ReLU layer, smaller for the output layer. */
  for (int j = 0; j < PARAMS; j++) {
    double spread = j < B1 ? 1.2 : j < W2 ? 0.0 : j < B2 ? 0.25 : 0.0;
    params[j] = (float)((uniform() * 2 - 1) * spread);
  }
  options = variant(which);
  for (int j = 0; j < PARAMS; j++) {
    sq_avg[j] = (float)options.initial_scale;
    momentum_buffer[j] = 0;
    grad_avg[j] = 0;
    ema[j] = 0;
  }
  steps_done = 0;
}

/* One forward pass over a point: hidden activations and the class scores. */
static void forward(int i, float hidden[HIDDEN], double scores[CLASSES]) {
  for (int j = 0; j < HIDDEN; j++) {
    float z = params[B1 + j] + params[W1 + j * INPUTS] * x[i][0] + params[W1 + j * INPUTS + 1] * x[i][1];
    hidden[j] = z > 0 ? z : 0;
  }
  for (int c = 0; c < CLASSES; c++) {
    double z = params[B2 + c];
    for (int j = 0; j < HIDDEN; j++) z += (double)params[W2 + c * HIDDEN + j] * hidden[j];
    scores[c] = z;
  }
}

/* Mean cross-entropy over every point; writes its gradient into `grads`. */
double model_loss_and_grad(void) {
  static double total[PARAMS];
  for (int j = 0; j < PARAMS; j++) total[j] = 0;
  double loss = 0;
  for (int i = 0; i < POINTS; i++) {
    float hidden[HIDDEN];
    double scores[CLASSES], p[CLASSES], top = -1e300, sum = 0;
    forward(i, hidden, scores);
    for (int c = 0; c < CLASSES; c++) top = scores[c] > top ? scores[c] : top;
    for (int c = 0; c < CLASSES; c++) sum += p[c] = exp_nonpositive(scores[c] - top);
    loss += log_small(sum) - (scores[label[i]] - top);
    for (int c = 0; c < CLASSES; c++) {
      double dz = p[c] / sum - (c == (int)label[i]); /* ∂loss/∂score */
      total[B2 + c] += dz;
      for (int j = 0; j < HIDDEN; j++) total[W2 + c * HIDDEN + j] += dz * hidden[j];
    }
    for (int j = 0; j < HIDDEN; j++) {
      if (hidden[j] <= 0) continue;
      double dh = 0;
      for (int c = 0; c < CLASSES; c++) dh += (double)params[W2 + c * HIDDEN + j] * (p[c] / sum - (c == (int)label[i]));
      total[B1 + j] += dh;
      total[W1 + j * INPUTS] += dh * x[i][0];
      total[W1 + j * INPUTS + 1] += dh * x[i][1];
    }
  }
  for (int j = 0; j < PARAMS; j++) grads[j] = (float)(total[j] / POINTS);
  return loss / POINTS;
}

/* The L2 norm of the gradients after grad_scale, or −1 when one of them is NaN or ±∞. */
static double grad_norm(void) {
  /* One pass sums the squares; a block whose sum is not finite holds a bad gradient. */
  if (rmsprop_sum_squares_f32(grads, PARAMS, (float)options.grad_scale, norm_sums) >= 0) return -1;
  return __builtin_sqrt(rmsprop_sum_blocks(norm_sums, RMSPROP_NORM_BLOCKS(PARAMS)));
}

static double last_norm = -1;
/* The gradient norm of the last step with global_clip_norm (what clip_grad_norm_ returns). */
double model_grad_norm(void) { return last_norm; }

/*
 * One RMSProp step from `grads`, run by the imported kernel. Returns −1 when applied, the
 * index of the first NaN or ±∞ gradient when it skipped the step, or −2 when the header
 * refused the options.
 */
int32_t model_step(void) {
  int32_t bad = rmsprop_first_nonfinite_f32(grads, PARAMS);
  if (bad >= 0) return bad;
  uint32_t t = steps_done + 1;
  uint32_t flags = rmsprop_fill_step_args(&step_args, &options, t, params, grads, sq_avg,
                                          momentum_buffer, grad_avg, PARAMS);
  if (options.ema_decay >= 0) flags = rmsprop_use_ema(&step_args, flags, &options, t, ema);
  if (options.global_clip_norm > 0) {
    last_norm = grad_norm();
    if (last_norm < 0) return -2;
    flags = rmsprop_clip_by_norm(&step_args, flags, options.global_clip_norm, last_norm);
  }
  if (flags == RMSPROP_INVALID) return -2;
  rmsprop_step(flags, &step_args);
  steps_done++;
  return -1;
}

/* Fraction of points whose highest score is their label. */
double model_accuracy(void) {
  int right = 0;
  for (int i = 0; i < POINTS; i++) {
    float hidden[HIDDEN];
    double scores[CLASSES];
    forward(i, hidden, scores);
    uint32_t best = 0;
    for (uint32_t c = 1; c < CLASSES; c++) best = scores[c] > scores[best] ? c : best;
    right += best == label[i];
  }
  return (double)right / POINTS;
}
