//! The rmsprop-wasm kernel for Zig code compiled to wasm32-freestanding: an `extern struct`
//! copy of include/rmsprop-wasm.h's 72-byte StepArgs block, the update options, a port of
//! `rmsprop_fill_step_args` that computes the same bits, and the kernel's two imports from
//! the wasm module "rmsprop-wasm" (Zig takes an extern's library name as its import module).
//! Copy this file next to your code; written for Zig 0.11. The host passes
//! `instantiateKernel(memory)` as the "rmsprop-wasm" import object.

/// The block the kernel reads; field order and offsets are the ABI.
pub const StepArgs = extern struct {
    params: u32 = 0,
    grads: u32 = 0,
    sq_avg: u32 = 0,
    momentum_buffer: u32 = 0,
    grad_avg: u32 = 0,
    n: u32 = 0,
    lr: f32 = 0,
    beta: f32 = 0,
    one_minus_beta: f32 = 0,
    eps: f32 = 0,
    g_sign: f32 = 0,
    wd: f32 = 0,
    lr_wd: f32 = 0,
    inv_c: f32 = 0,
    v_floor: f32 = 0,
    mu: f32 = 0,
    u_scale: f32 = 0,
    theta_scale: f32 = 0,
};

comptime {
    if (@sizeOf(StepArgs) != 72) @compileError("StepArgs is 72 bytes");
    if (@offsetOf(StepArgs, "n") != 20 or @offsetOf(StepArgs, "lr") != 24 or @offsetOf(StepArgs, "theta_scale") != 68)
        @compileError("StepArgs offsets are the header's");
}

// Bits of the `flags` argument of `step`.
pub const EPS_IN_SQRT: u32 = 1;
pub const CENTERED: u32 = 2;
pub const WD_L2: u32 = 4;
pub const WD_DECOUPLED: u32 = 8;
pub const MOM_HEAVY: u32 = 16;
pub const MOM_NESTEROV: u32 = 32;

/// One step as described by `args`, with the flags `fillStepArgs` returned.
pub extern "rmsprop-wasm" fn step(flags: u32, args: *const StepArgs) void;
/// Index of the first NaN or ±∞ among the n floats at p, or −1; reads only.
pub extern "rmsprop-wasm" fn first_nonfinite_f32(p: [*]const f32, n: u32) i32;

/// The update options of createRmsprop (the header's `rmsprop_options`), with the package's
/// defaults; numbers are f64 like JS numbers, so the derived constants round as in the package.
pub const Options = struct {
    lr: f64 = 0.01,
    beta: f64 = 0.9,
    eps: f64 = 1e-8,
    eps_in_sqrt: bool = true,
    momentum: f64 = 0,
    lr_in_momentum: bool = false,
    nesterov: bool = false,
    centered: bool = false,
    clamp_variance: bool = true,
    centered_eps_subtract: bool = false,
    weight_decay: f64 = 0,
    decoupled_weight_decay: bool = false,
    maximize: bool = false,
    bias_correction: bool = false,
    initial_scale: f64 = 0,
};

/// The arrays of one optimizer; momentum_buffer and grad_avg may be null when unused.
pub const Arrays = struct {
    params: [*]f32,
    grads: [*]f32,
    sq_avg: [*]f32,
    momentum_buffer: ?[*]f32 = null,
    grad_avg: ?[*]f32 = null,
    n: u32,
};

/// base^t by the package's binary exponentiation (not std.math.pow, which may differ in the last bit).
fn powU32(base_in: f64, t_in: u32) f64 {
    var base = base_in;
    var t = t_in;
    var result: f64 = 1;
    while (t != 0) : (t >>= 1) {
        if (t & 1 != 0) result *= base;
        base *= base;
    }
    return result;
}

fn fitsF32(x: f64) bool {
    return x >= 0 and x <= 3.4028234663852886e38;
}

fn aligned(p: ?[*]f32) bool {
    return if (p) |q| @intFromPtr(q) % 4 == 0 else false;
}

fn offset(p: ?[*]f32) u32 {
    return if (p) |q| @intCast(@intFromPtr(q)) else 0;
}

/// Fills `args` for step t (from 1) and returns the flags for `step`, or null (and n = 0 in
/// the block) for what the package refuses: an option outside its rule, t = 0, a missing or
/// misaligned array, or a derived constant beyond f32.
pub fn fillStepArgs(args: *StepArgs, o: Options, t: u32, a: Arrays) ?u32 {
    args.n = 0;
    const options_ok = fitsF32(o.lr) and fitsF32(o.eps) and fitsF32(o.momentum) and fitsF32(o.weight_decay) and
        fitsF32(o.initial_scale) and o.beta >= 0 and o.beta < 1 and !(o.nesterov and o.momentum == 0);
    if (t == 0 or !options_ok) return null;
    const momentum = o.momentum > 0;
    const centered = o.centered;
    if (!aligned(a.params) or !aligned(a.grads) or !aligned(a.sq_avg) or (momentum and !aligned(a.momentum_buffer)) or
        (centered and !aligned(a.grad_avg))) return null;
    const lr_wd = o.lr * o.weight_decay;
    const inv_c: f64 = if (o.bias_correction) 1 / (1 - powU32(o.beta, t)) else 1;
    // 2^128 − 2^103: the smallest double that rounds to an infinite f32.
    const f32_overflow: f64 = 3.4028235677973366e38;
    if (!(lr_wd < f32_overflow) or !(inv_c < f32_overflow)) return null;

    var flags: u32 = 0;
    if (o.eps_in_sqrt) flags |= EPS_IN_SQRT;
    if (centered) flags |= CENTERED;
    if (o.weight_decay > 0) flags |= if (o.decoupled_weight_decay) WD_DECOUPLED else WD_L2;
    if (momentum) flags |= if (o.nesterov) MOM_NESTEROV else MOM_HEAVY;

    const lr: f32 = @floatCast(o.lr);
    const eps: f32 = @floatCast(o.eps);
    args.* = .{
        .params = offset(a.params),
        .grads = offset(a.grads),
        .sq_avg = offset(a.sq_avg),
        .momentum_buffer = if (momentum) offset(a.momentum_buffer) else 0,
        .grad_avg = if (centered) offset(a.grad_avg) else 0,
        .lr = lr,
        .beta = @floatCast(o.beta),
        .one_minus_beta = @floatCast(1 - o.beta),
        // tfjs's centered root √(S − (G² + ε)) is the kernel's √(v + ε) with ε negated.
        .eps = if (centered and o.centered_eps_subtract) -eps else eps,
        .g_sign = if (o.maximize) -1 else 1,
        .wd = @floatCast(o.weight_decay),
        .lr_wd = @floatCast(lr_wd),
        .inv_c = @floatCast(inv_c),
        .v_floor = if (o.clamp_variance) 0 else -std_inf,
        .mu = @floatCast(o.momentum),
        .u_scale = if (o.lr_in_momentum) lr else 1,
        .theta_scale = if (o.lr_in_momentum) 1 else lr,
        .n = a.n,
    };
    return flags;
}

const std_inf = @import("std").math.inf(f32);
