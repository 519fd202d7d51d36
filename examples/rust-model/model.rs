//! examples/c-model's two-layer perceptron, in Rust: the forward and backward pass write
//! `grads`, and model_step() fills a StepArgs block and calls the kernel, imported from
//! "rmsprop-wasm", on the memory both share. Same data, weights and variants as model.c.
//!
//! Task: points in [−3, 3]², labelled by the ring they fall in (r < 1.1, r < 2.1, farther).
//! 2 inputs → 32 ReLU units → 3 softmax outputs, full batch. build.mjs compiles it with
//! rustc for wasm32-unknown-unknown, the memory imported.
#![allow(clippy::needless_range_loop)]

mod rmsprop_wasm;
use rmsprop_wasm::{fill_step_args, rmsprop_first_nonfinite_f32, rmsprop_step, Arrays, Options, StepArgs, DEFAULT_OPTIONS};

const POINTS: usize = 600;
const INPUTS: usize = 2;
const HIDDEN: usize = 32;
const CLASSES: usize = 3;
// θ, in this order: W1 [HIDDEN][INPUTS], b1 [HIDDEN], W2 [CLASSES][HIDDEN], b2 [CLASSES].
const W1: usize = 0;
const B1: usize = W1 + HIDDEN * INPUTS;
const W2: usize = B1 + HIDDEN;
const B2: usize = W2 + CLASSES * HIDDEN;
const PARAMS: usize = B2 + CLASSES;

/// 16-byte aligned, for the kernel's vector loads.
#[repr(C, align(16))]
struct Floats([f32; PARAMS]);

struct Model {
    params: Floats,
    grads: Floats,
    sq_avg: Floats,
    momentum_buffer: Floats,
    grad_avg: Floats,
    step_args: StepArgs,
    options: Options,
    steps_done: u32,
    x: [[f32; INPUTS]; POINTS],
    label: [usize; POINTS],
    rng_state: u32,
}

const ZEROS: Floats = Floats([0.0; PARAMS]);
static mut MODEL: Model = Model {
    params: ZEROS,
    grads: ZEROS,
    sq_avg: ZEROS,
    momentum_buffer: ZEROS,
    grad_avg: ZEROS,
    step_args: StepArgs::EMPTY,
    options: DEFAULT_OPTIONS,
    steps_done: 0,
    x: [[0.0; INPUTS]; POINTS],
    label: [0; POINTS],
    rng_state: 0,
};

/// The one model of this module (wasm here is single-threaded).
fn model() -> &'static mut Model {
    unsafe { &mut *core::ptr::addr_of_mut!(MODEL) }
}

impl Model {
    /// mulberry32, the PRNG of the package's tests.
    fn uniform(&mut self) -> f64 {
        self.rng_state = self.rng_state.wrapping_add(0x6d2b79f5);
        let mut t = self.rng_state;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        (t ^ (t >> 14)) as f64 / 4294967296.0
    }

    /// One forward pass over a point: hidden activations and the class scores.
    fn forward(&self, i: usize, hidden: &mut [f32; HIDDEN], scores: &mut [f64; CLASSES]) {
        let p = &self.params.0;
        for j in 0..HIDDEN {
            let z = p[B1 + j] + p[W1 + j * INPUTS] * self.x[i][0] + p[W1 + j * INPUTS + 1] * self.x[i][1];
            hidden[j] = if z > 0.0 { z } else { 0.0 };
        }
        for c in 0..CLASSES {
            let mut z = p[B2 + c] as f64;
            for j in 0..HIDDEN {
                z += p[W2 + c * HIDDEN + j] as f64 * hidden[j] as f64;
            }
            scores[c] = z;
        }
    }
}

/// The variants the tests compare with createRmsprop, in model.c's order.
fn variant(which: u32) -> Options {
    let d = DEFAULT_OPTIONS;
    match which {
        1 => Options { lr: 0.003, beta: 0.99, eps_in_sqrt: false, momentum: 0.9, weight_decay: 1e-4, ..d },
        2 => Options { lr: 0.005, centered: true, momentum: 0.5, lr_in_momentum: true, eps: 1e-7, ..d },
        3 => Options { lr: 0.005, eps: 1e-7, weight_decay: 0.01, decoupled_weight_decay: true, ..d },
        4 => Options { lr: 0.003, momentum: 0.9, nesterov: true, lr_in_momentum: true, bias_correction: true, ..d },
        5 => Options { lr: 0.01, eps: 1e-10, initial_scale: 1.0, ..d },
        _ => d,
    }
}

#[no_mangle]
pub extern "C" fn model_variant_count() -> u32 {
    6
}
#[no_mangle]
pub extern "C" fn model_param_count() -> u32 {
    PARAMS as u32
}
#[no_mangle]
pub extern "C" fn model_params() -> *mut f32 {
    model().params.0.as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn model_grads() -> *mut f32 {
    model().grads.0.as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn model_sq_avg() -> *mut f32 {
    model().sq_avg.0.as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn model_momentum_buffer() -> *mut f32 {
    model().momentum_buffer.0.as_mut_ptr()
}
#[no_mangle]
pub extern "C" fn model_grad_avg() -> *mut f32 {
    model().grad_avg.0.as_mut_ptr()
}

/// Seeded data and weights, and fresh optimizer state for the chosen variant.
#[no_mangle]
pub extern "C" fn model_init(which: u32, seed: u32) {
    let m = model();
    m.rng_state = seed;
    for i in 0..POINTS {
        let a = m.uniform() * 6.0 - 3.0;
        let b = m.uniform() * 6.0 - 3.0;
        let r = (a * a + b * b).sqrt();
        m.x[i] = [a as f32, b as f32];
        m.label[i] = if r < 1.1 { 0 } else if r < 2.1 { 1 } else { 2 };
    }
    // He-style uniform scale for the ReLU layer, smaller for the output layer.
    for j in 0..PARAMS {
        let spread = if j < B1 { 1.2 } else if j < W2 { 0.0 } else if j < B2 { 0.25 } else { 0.0 };
        m.params.0[j] = ((m.uniform() * 2.0 - 1.0) * spread) as f32;
    }
    m.options = variant(which);
    m.sq_avg.0 = [m.options.initial_scale as f32; PARAMS];
    m.momentum_buffer.0 = [0.0; PARAMS];
    m.grad_avg.0 = [0.0; PARAMS];
    m.steps_done = 0;
}

/// e^x for x ≤ 0 (softmax after subtracting the max): 2^k · e^r with |r| ≤ ln2/2, as model.c.
fn exp_nonpositive(v: f64) -> f64 {
    if v < -700.0 {
        return 0.0;
    }
    let k = (v * 1.4426950408889634 + 0.5).floor();
    let r = v - k * 0.6931471805599453;
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 1..14 {
        term *= r / i as f64;
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// ln v for v in [1, CLASSES] (a softmax denominator): 2·atanh((v − 1)/(v + 1)), as model.c.
fn log_small(v: f64) -> f64 {
    let s = (v - 1.0) / (v + 1.0);
    let (s2, mut power, mut sum) = (s * s, s, 0.0);
    let mut i = 1;
    while i < 60 {
        sum += power / i as f64;
        power *= s2;
        i += 2;
    }
    2.0 * sum
}

/// Mean cross-entropy over every point; writes its gradient into `grads`.
#[no_mangle]
pub extern "C" fn model_loss_and_grad() -> f64 {
    let m = model();
    let mut total = [0.0f64; PARAMS];
    let mut loss = 0.0;
    for i in 0..POINTS {
        let mut hidden = [0.0f32; HIDDEN];
        let mut scores = [0.0f64; CLASSES];
        m.forward(i, &mut hidden, &mut scores);
        let top = scores.iter().fold(-1e300f64, |a, &b| if b > a { b } else { a });
        let mut p = [0.0f64; CLASSES];
        let mut sum = 0.0;
        for c in 0..CLASSES {
            p[c] = exp_nonpositive(scores[c] - top);
            sum += p[c];
        }
        let label = m.label[i];
        loss += log_small(sum) - (scores[label] - top);
        let w2 = &m.params.0[W2..B2];
        for c in 0..CLASSES {
            let dz = p[c] / sum - (c == label) as u32 as f64; // ∂loss/∂score
            total[B2 + c] += dz;
            for j in 0..HIDDEN {
                total[W2 + c * HIDDEN + j] += dz * hidden[j] as f64;
            }
        }
        for j in 0..HIDDEN {
            if hidden[j] <= 0.0 {
                continue;
            }
            let mut dh = 0.0;
            for c in 0..CLASSES {
                dh += w2[c * HIDDEN + j] as f64 * (p[c] / sum - (c == label) as u32 as f64);
            }
            total[B1 + j] += dh;
            total[W1 + j * INPUTS] += dh * m.x[i][0] as f64;
            total[W1 + j * INPUTS + 1] += dh * m.x[i][1] as f64;
        }
    }
    for j in 0..PARAMS {
        m.grads.0[j] = (total[j] / POINTS as f64) as f32;
    }
    loss / POINTS as f64
}

/// One RMSProp step from `grads`, run by the imported kernel. Returns −1 when applied, the
/// index of the first NaN or ±∞ gradient when it skipped the step, or −2 when the options
/// were refused.
#[no_mangle]
pub extern "C" fn model_step() -> i32 {
    let m = model();
    let bad = unsafe { rmsprop_first_nonfinite_f32(m.grads.0.as_ptr(), PARAMS as u32) };
    if bad >= 0 {
        return bad;
    }
    let arrays = Arrays {
        params: m.params.0.as_mut_ptr(),
        grads: m.grads.0.as_mut_ptr(),
        sq_avg: m.sq_avg.0.as_mut_ptr(),
        momentum_buffer: m.momentum_buffer.0.as_mut_ptr(),
        grad_avg: m.grad_avg.0.as_mut_ptr(),
        n: PARAMS as u32,
    };
    match fill_step_args(&mut m.step_args, &m.options, m.steps_done + 1, &arrays) {
        Some(flags) => unsafe { rmsprop_step(flags, &m.step_args) },
        None => return -2,
    }
    m.steps_done += 1;
    -1
}

/// Fraction of points whose highest score is their label.
#[no_mangle]
pub extern "C" fn model_accuracy() -> f64 {
    let m = model();
    let mut right = 0;
    for i in 0..POINTS {
        let mut hidden = [0.0f32; HIDDEN];
        let mut scores = [0.0f64; CLASSES];
        m.forward(i, &mut hidden, &mut scores);
        let mut best = 0;
        for c in 1..CLASSES {
            if scores[c] > scores[best] {
                best = c;
            }
        }
        right += (best == m.label[i]) as u32;
    }
    right as f64 / POINTS as f64
}
