//! The rmsprop-wasm kernel for Rust code compiled to wasm32-unknown-unknown: a `#[repr(C)]`
//! copy of include/rmsprop-wasm.h's 72-byte StepArgs block, the update options, a port of
//! `rmsprop_fill_step_args` that computes the same bits, and the kernel's two imports from
//! the wasm module "rmsprop-wasm". Copy this file into your crate; no dependencies, Rust 1.63+.
//! The host passes `instantiateKernel(memory)` as the "rmsprop-wasm" import object.

/// The block the kernel reads; field order and offsets are the ABI (the header's static
/// asserts, repeated below).
#[repr(C)]
pub struct StepArgs {
    pub params: u32,
    pub grads: u32,
    pub sq_avg: u32,
    pub momentum_buffer: u32,
    pub grad_avg: u32,
    pub n: u32,
    pub lr: f32,
    pub beta: f32,
    pub one_minus_beta: f32,
    pub eps: f32,
    pub g_sign: f32,
    pub wd: f32,
    pub lr_wd: f32,
    pub inv_c: f32,
    pub v_floor: f32,
    pub mu: f32,
    pub u_scale: f32,
    pub theta_scale: f32,
}

const _: () = assert!(core::mem::size_of::<StepArgs>() == 72, "StepArgs is 72 bytes");
const _: () = assert!(core::mem::size_of::<usize>() == 4, "wasm32: 32-bit byte offsets");

// Bits of the `flags` argument of `rmsprop_step`.
pub const EPS_IN_SQRT: u32 = 1;
pub const CENTERED: u32 = 2;
pub const WD_L2: u32 = 4;
pub const WD_DECOUPLED: u32 = 8;
pub const MOM_HEAVY: u32 = 16;
pub const MOM_NESTEROV: u32 = 32;

#[link(wasm_import_module = "rmsprop-wasm")]
extern "C" {
    /// One step as described by `args`, with the flags `fill_step_args` returned.
    #[link_name = "step"]
    pub fn rmsprop_step(flags: u32, args: *const StepArgs);
    /// Index of the first NaN or ±∞ among the n floats at p, or −1; reads only.
    #[link_name = "first_nonfinite_f32"]
    pub fn rmsprop_first_nonfinite_f32(p: *const f32, n: u32) -> i32;
}

/// The update options of createRmsprop (the header's `rmsprop_options`); numbers are f64
/// like JS numbers, so the derived constants round exactly as in the package.
#[derive(Clone, Copy)]
pub struct Options {
    pub lr: f64,
    pub beta: f64,
    pub eps: f64,
    pub eps_in_sqrt: bool,
    pub momentum: f64,
    pub lr_in_momentum: bool,
    pub nesterov: bool,
    pub centered: bool,
    pub clamp_variance: bool,
    pub centered_eps_subtract: bool,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
    pub bias_correction: bool,
    pub initial_scale: f64,
}

/// The package's defaults (`defaultOptions`).
pub const DEFAULT_OPTIONS: Options = Options {
    lr: 0.01,
    beta: 0.9,
    eps: 1e-8,
    eps_in_sqrt: true,
    momentum: 0.0,
    lr_in_momentum: false,
    nesterov: false,
    centered: false,
    clamp_variance: true,
    centered_eps_subtract: false,
    weight_decay: 0.0,
    decoupled_weight_decay: false,
    maximize: false,
    bias_correction: false,
    initial_scale: 0.0,
};

/// base^t by the package's binary exponentiation (not `powf`, which may differ in the last bit).
fn pow_u32(mut base: f64, mut t: u32) -> f64 {
    let mut result = 1.0;
    while t != 0 {
        if t & 1 != 0 {
            result *= base;
        }
        base *= base;
        t >>= 1;
    }
    result
}

fn fits_f32(x: f64) -> bool {
    x >= 0.0 && x <= f32::MAX as f64
}

/// The arrays of one optimizer; `momentum_buffer` and `grad_avg` may be null when the
/// options do not use them.
pub struct Arrays {
    pub params: *mut f32,
    pub grads: *mut f32,
    pub sq_avg: *mut f32,
    pub momentum_buffer: *mut f32,
    pub grad_avg: *mut f32,
    pub n: u32,
}

/// Fills `args` for step t (from 1) and returns the flags for `rmsprop_step`, or None (and
/// n = 0 in the block) for what the package refuses: an option outside its rule, t = 0, a
/// missing or misaligned array, or a derived constant beyond f32.
pub fn fill_step_args(args: &mut StepArgs, o: &Options, t: u32, a: &Arrays) -> Option<u32> {
    args.n = 0;
    let options_ok = fits_f32(o.lr) && fits_f32(o.eps) && fits_f32(o.momentum) && fits_f32(o.weight_decay)
        && fits_f32(o.initial_scale) && o.beta >= 0.0 && o.beta < 1.0 && !(o.nesterov && o.momentum == 0.0);
    if t == 0 || !options_ok {
        return None;
    }
    let (momentum, centered) = (o.momentum > 0.0, o.centered);
    let usable = |p: *mut f32| !p.is_null() && p as usize % 4 == 0;
    if !usable(a.params) || !usable(a.grads) || !usable(a.sq_avg) || (momentum && !usable(a.momentum_buffer))
        || (centered && !usable(a.grad_avg)) {
        return None;
    }
    let lr_wd = o.lr * o.weight_decay;
    let inv_c = if o.bias_correction { 1.0 / (1.0 - pow_u32(o.beta, t)) } else { 1.0 };
    // 2^128 − 2^103: the smallest double that rounds to an infinite f32.
    const F32_OVERFLOW: f64 = 3.4028235677973366e38;
    if !(lr_wd < F32_OVERFLOW) || !(inv_c < F32_OVERFLOW) {
        return None;
    }
    let mut flags = 0;
    if o.eps_in_sqrt {
        flags |= EPS_IN_SQRT;
    }
    if centered {
        flags |= CENTERED;
    }
    if o.weight_decay > 0.0 {
        flags |= if o.decoupled_weight_decay { WD_DECOUPLED } else { WD_L2 };
    }
    if momentum {
        flags |= if o.nesterov { MOM_NESTEROV } else { MOM_HEAVY };
    }
    args.params = a.params as u32;
    args.grads = a.grads as u32;
    args.sq_avg = a.sq_avg as u32;
    args.momentum_buffer = if momentum { a.momentum_buffer as u32 } else { 0 };
    args.grad_avg = if centered { a.grad_avg as u32 } else { 0 };
    args.lr = o.lr as f32;
    args.beta = o.beta as f32;
    args.one_minus_beta = (1.0 - o.beta) as f32;
    // tfjs's centered root √(S − (G² + ε)) is the kernel's √(v + ε) with ε negated.
    args.eps = if centered && o.centered_eps_subtract { -(o.eps as f32) } else { o.eps as f32 };
    args.g_sign = if o.maximize { -1.0 } else { 1.0 };
    args.wd = o.weight_decay as f32;
    args.lr_wd = lr_wd as f32;
    args.inv_c = inv_c as f32;
    args.v_floor = if o.clamp_variance { 0.0 } else { f32::NEG_INFINITY };
    args.mu = o.momentum as f32;
    args.u_scale = if o.lr_in_momentum { o.lr as f32 } else { 1.0 };
    args.theta_scale = if o.lr_in_momentum { 1.0 } else { o.lr as f32 };
    args.n = a.n;
    Some(flags)
}
