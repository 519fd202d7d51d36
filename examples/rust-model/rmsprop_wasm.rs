//! The rmsprop-wasm kernel for Rust code compiled to wasm32-unknown-unknown: a `#[repr(C)]`
//! copy of include/rmsprop-wasm.h's 120-byte StepArgs block, the update options, a port of
//! `rmsprop_fill_step_args` that computes the same bits, the header's 8-bit state helpers
//! (`q8_fill`, `fill_step_args_q8`), and the kernel's imports from the wasm module
//! "rmsprop-wasm". Copy this file into your crate; no dependencies, Rust 1.63+.
//! The host passes `instantiateKernel(memory)` as the "rmsprop-wasm" import object.

// A binding: a crate uses the part of it it needs (the f32 state or the 8-bit one).
#![allow(dead_code)]

/// The block the kernel reads; field order and offsets are the ABI (the header's static
/// asserts, repeated below). The kernel reads the fields after `theta_scale` only under the
/// flags that need them (version 2's, and `Q8`), so `fill_step_args` sets them neutral.
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
    pub ema: u32,
    pub clip_scale: f32,
    pub clip_value: f32,
    pub ema_decay: f32,
    pub one_minus_ema_decay: f32,
    pub flags: u32,
    pub sq_avg_scales: u32,
    pub momentum_buffer_scales: u32,
    pub grad_avg_scales: u32,
    pub scratch: u32,
    pub first_index: u32,
    pub rounding_seed: u32,
}

impl StepArgs {
    /// A block before its first fill (n = 0: a step on it touches nothing).
    pub const EMPTY: StepArgs = StepArgs {
        params: 0, grads: 0, sq_avg: 0, momentum_buffer: 0, grad_avg: 0, n: 0, lr: 0.0, beta: 0.0,
        one_minus_beta: 0.0, eps: 0.0, g_sign: 0.0, wd: 0.0, lr_wd: 0.0, inv_c: 0.0, v_floor: 0.0, mu: 0.0,
        u_scale: 0.0, theta_scale: 0.0, ema: 0, clip_scale: 0.0, clip_value: 0.0, ema_decay: 0.0,
        one_minus_ema_decay: 0.0, flags: 0, sq_avg_scales: 0, momentum_buffer_scales: 0, grad_avg_scales: 0,
        scratch: 0, first_index: 0, rounding_seed: 0,
    };
}

const _: () = assert!(core::mem::size_of::<StepArgs>() == 120, "StepArgs is 120 bytes");
const _: () = assert!(core::mem::size_of::<usize>() == 4, "wasm32: 32-bit byte offsets");

// Bits of the `flags` argument of `rmsprop_step`.
pub const EPS_IN_SQRT: u32 = 1;
pub const CENTERED: u32 = 2;
pub const WD_L2: u32 = 4;
pub const WD_DECOUPLED: u32 = 8;
pub const MOM_HEAVY: u32 = 16;
pub const MOM_NESTEROV: u32 = 32;
/// S, M and G as 8-bit codes with a scale per block (`fill_step_args_q8` sets it).
pub const Q8: u32 = 2048;

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
    args.ema = 0;
    args.clip_scale = 1.0;
    args.clip_value = f32::INFINITY;
    args.ema_decay = 0.0;
    args.one_minus_ema_decay = 1.0;
    args.flags = flags;
    args.sq_avg_scales = 0;
    args.momentum_buffer_scales = 0;
    args.grad_avg_scales = 0;
    args.scratch = 0;
    args.first_index = 0;
    args.rounding_seed = 0;
    args.n = a.n;
    Some(flags)
}

// 8-bit state (the package's stateBits: 8, docs/quantization.md). Each of S, M and G that the
// options need is n code bytes and q8_blocks(n) f32 scales; S holds V = S − G² when
// centered. Block b covers elements [512·b, 512·b + 512). θ, g and the EMA stay f32 arrays.

/// Elements per block, each block with one f32 scale.
pub const Q8_BLOCK: u32 = 512;
/// The bytes of scratch one `rmsprop_step` call on 8-bit state needs, 16-byte aligned.
pub const Q8_SCRATCH_BYTES: usize = 3 * Q8_BLOCK as usize * 4 + 96;
// The code map of each 8-bit array, as `rmsprop_quantize_blockwise_8bit` takes it.
/// u8e5m3, no sign: S, or V = S − G² when centered.
pub const Q8_SQ_AVG_FORMAT: u32 = 0;
/// s8e3m4: M.
pub const Q8_MOMENTUM_BUFFER_FORMAT: u32 = 1;
/// s8e4m3: G.
pub const Q8_GRAD_AVG_FORMAT: u32 = 2;

/// The scales n elements have: one per block, the last block may be short.
pub const fn q8_blocks(n: u32) -> u32 {
    n / Q8_BLOCK + (n % Q8_BLOCK != 0) as u32
}

#[link(wasm_import_module = "rmsprop-wasm")]
extern "C" {
    /// The n floats at src as n 8-bit codes and `q8_blocks(n)` f32 block scales (each a power
    /// of two), rounded to nearest, in code map `format` (a `Q8_*_FORMAT`).
    #[link_name = "quantize_blockwise_8bit"]
    pub fn rmsprop_quantize_blockwise_8bit(format: u32, src: *const f32, n: u32, codes: *mut u8, scales: *mut f32);
    /// The n floats that n codes and their blocks' scales stand for, exactly, to out.
    #[link_name = "dequantize_blockwise_8bit"]
    pub fn rmsprop_dequantize_blockwise_8bit(format: u32, codes: *const u8, scales: *const f32, n: u32, out: *mut f32);
}

/// One call's scratch, 16-byte aligned by its type. Calls that run at once need one each.
#[repr(C, align(16))]
pub struct Q8Scratch(pub [u8; Q8_SCRATCH_BYTES]);

impl Q8Scratch {
    pub const NEW: Q8Scratch = Q8Scratch([0; Q8_SCRATCH_BYTES]);
}

/// The codes and block scales of one 8-bit array (the header's `rmsprop_q8_array`).
#[derive(Clone, Copy)]
pub struct Q8Array {
    pub codes: *mut u8,
    pub scales: *mut f32,
}

impl Q8Array {
    /// No array: for M without momentum, G when not centered.
    pub const NONE: Q8Array = Q8Array { codes: core::ptr::null_mut(), scales: core::ptr::null_mut() };

    /// The array whose codes and scales these slices hold.
    pub fn of(codes: &mut [u8], scales: &mut [f32]) -> Q8Array {
        Q8Array { codes: codes.as_mut_ptr(), scales: scales.as_mut_ptr() }
    }

    /// The same array from element k on (k a multiple of `Q8_BLOCK`): codes + k, scales + k / 512.
    /// A null pointer stays null, so `NONE` stays refused where the options need the array.
    pub fn from_element(self, k: u32) -> Q8Array {
        fn advance<T>(p: *mut T, i: usize) -> *mut T {
            if p.is_null() { p } else { p.wrapping_add(i) }
        }
        Q8Array { codes: advance(self.codes, k as usize), scales: advance(self.scales, (k / Q8_BLOCK) as usize) }
    }

    fn usable(&self) -> bool {
        !self.codes.is_null() && !self.scales.is_null() && self.scales as usize % 4 == 0
    }
}

/// The 8-bit state of one optimizer (the header's `rmsprop_q8_state`); `momentum_buffer` and
/// `grad_avg` may be `Q8Array::NONE` when the options do not use them.
#[derive(Clone, Copy)]
pub struct Q8State {
    pub sq_avg: Q8Array,
    pub momentum_buffer: Q8Array,
    pub grad_avg: Q8Array,
    pub scratch: *mut Q8Scratch,
}

/// Why `q8_fill` or `fill_step_args_q8` refused its arguments (nothing was written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Q8Error {
    /// What `fill_step_args` refuses: an option outside its rule, t = 0, a missing or
    /// misaligned θ or g, or a derived constant beyond f32.
    StepArgs,
    /// A format other than the three `Q8_*_FORMAT`s.
    Format,
    /// A value the code map cannot encode: NaN, ±∞, or negative for S's.
    Value,
    /// An array the options need without codes or scales, with scales off 4-byte alignment,
    /// or (`q8_fill`) with fewer scales than `q8_blocks` of its codes.
    Array,
    /// No scratch, or one off 16-byte alignment.
    Scratch,
}

impl core::fmt::Display for Q8Error {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(match self {
            Q8Error::StepArgs => "options, t, params or grads refused (see fill_step_args)",
            Q8Error::Format => "format must be Q8_SQ_AVG_FORMAT, Q8_MOMENTUM_BUFFER_FORMAT or Q8_GRAD_AVG_FORMAT",
            Q8Error::Value => "value must be finite, and >= 0 for Q8_SQ_AVG_FORMAT",
            Q8Error::Array => "an 8-bit array needs codes and q8_blocks(n) 4-byte aligned scales",
            Q8Error::Scratch => "scratch must be Q8_SCRATCH_BYTES, 16-byte aligned",
        })
    }
}

/// Sets every element of an 8-bit array (`codes.len()` of them) to `value`, with the codes and
/// scales the package gives them: before the first step, S to `initial_scale` and M, G to 0.
/// Encodes through the scratch, whole blocks at a time. Refuses, writing nothing, a bad
/// format, a value the map cannot encode, and fewer scales than `q8_blocks(codes.len())`.
pub fn q8_fill(format: u32, value: f32, codes: &mut [u8], scales: &mut [f32], scratch: &mut Q8Scratch) -> Result<(), Q8Error> {
    if format > Q8_GRAD_AVG_FORMAT {
        return Err(Q8Error::Format);
    }
    if !value.is_finite() || (format == Q8_SQ_AVG_FORMAT && value < 0.0) {
        return Err(Q8Error::Value);
    }
    let n = codes.len() as u32;
    if scales.len() < q8_blocks(n) as usize {
        return Err(Q8Error::Array);
    }
    const CHUNK: usize = Q8_SCRATCH_BYTES / 4 / Q8_BLOCK as usize * Q8_BLOCK as usize;
    let values = scratch.0.as_mut_ptr() as *mut f32;
    // The scratch is 16-byte aligned and CHUNK floats fit in it.
    let values = unsafe { core::slice::from_raw_parts_mut(values, CHUNK) };
    let len = values.len().min(codes.len());
    values[..len].fill(value);
    for (k, part) in codes.chunks_mut(CHUNK).enumerate() {
        let block = k * CHUNK / Q8_BLOCK as usize;
        // part.len() ≤ CHUNK floats of values; q8_blocks(part.len()) scales from `block` fit in scales.
        unsafe {
            rmsprop_quantize_blockwise_8bit(format, values.as_ptr(), part.len() as u32, part.as_mut_ptr(), scales[block..].as_mut_ptr())
        };
    }
    Ok(())
}

/// `fill_step_args` for 8-bit state: fills the block for step t over the n elements at
/// params, grads and the codes and scales of `q`, and returns the flags (with `Q8`) for
/// `rmsprop_step`. first_index is element 0's index in the whole array (0 for a whole array,
/// k for a call that steps from element k): the stochastic rounding draws from it and from
/// t, as the package does. Refuses (n = 0 in the block) what `fill_step_args` refuses, an
/// array the options need without codes or with missing or misaligned scales, and a
/// missing or misaligned scratch.
#[allow(clippy::too_many_arguments)]
pub fn fill_step_args_q8(
    args: &mut StepArgs, o: &Options, t: u32, params: *mut f32, grads: *mut f32, q: &Q8State, first_index: u32, n: u32,
) -> Result<u32, Q8Error> {
    // The f32 fill checks the options, θ and g; params stands in for the f32 state it would
    // check, which the codes replace below.
    let a = Arrays { params, grads, sq_avg: params, momentum_buffer: params, grad_avg: params, n };
    let mut flags = fill_step_args(args, o, t, &a).ok_or(Q8Error::StepArgs)?;
    let (momentum, centered) = (flags & (MOM_HEAVY | MOM_NESTEROV) != 0, flags & CENTERED != 0);
    let refused = if !q.sq_avg.usable() || (momentum && !q.momentum_buffer.usable()) || (centered && !q.grad_avg.usable()) {
        Some(Q8Error::Array)
    } else if q.scratch.is_null() || q.scratch as usize % 16 != 0 {
        Some(Q8Error::Scratch)
    } else {
        None
    };
    if let Some(error) = refused {
        args.n = 0;
        return Err(error);
    }
    let offset = |a: &Q8Array, used: bool| if used { (a.codes as u32, a.scales as u32) } else { (0, 0) };
    (args.sq_avg, args.sq_avg_scales) = offset(&q.sq_avg, true);
    (args.momentum_buffer, args.momentum_buffer_scales) = offset(&q.momentum_buffer, momentum);
    (args.grad_avg, args.grad_avg_scales) = offset(&q.grad_avg, centered);
    args.scratch = q.scratch as u32;
    args.first_index = first_index;
    args.rounding_seed = t;
    flags |= Q8;
    args.flags = flags;
    Ok(flags)
}
