//! The rmsprop-wasm kernel for Zig code compiled to wasm32-freestanding: an `extern struct`
//! copy of include/rmsprop-wasm.h's 120-byte StepArgs block, the update options, a port of
//! `rmsprop_fill_step_args` that computes the same bits, the header's 8-bit state helpers
//! (`q8Fill`, `fillStepArgsQ8`), and the kernel's imports from the wasm module
//! "rmsprop-wasm" (Zig takes an extern's library name as its import module).
//! Copy this file next to your code; written for Zig 0.11. The host passes
//! `instantiateKernel(memory)` as the "rmsprop-wasm" import object.

/// The block the kernel reads; field order and offsets are the ABI. The kernel reads the
/// fields after `theta_scale` only under the flags that need them (version 2's, and `Q8`),
/// so `fillStepArgs` sets them neutral.
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
    ema: u32 = 0,
    clip_scale: f32 = 0,
    clip_value: f32 = 0,
    ema_decay: f32 = 0,
    one_minus_ema_decay: f32 = 0,
    flags: u32 = 0,
    sq_avg_scales: u32 = 0,
    momentum_buffer_scales: u32 = 0,
    grad_avg_scales: u32 = 0,
    scratch: u32 = 0,
    first_index: u32 = 0,
    rounding_seed: u32 = 0,
};

comptime {
    if (@sizeOf(StepArgs) != 120) @compileError("StepArgs is 120 bytes");
    if (@offsetOf(StepArgs, "n") != 20 or @offsetOf(StepArgs, "lr") != 24 or @offsetOf(StepArgs, "theta_scale") != 68 or
        @offsetOf(StepArgs, "ema") != 72 or @offsetOf(StepArgs, "flags") != 92 or @offsetOf(StepArgs, "sq_avg_scales") != 96 or
        @offsetOf(StepArgs, "scratch") != 108 or @offsetOf(StepArgs, "rounding_seed") != 116)
        @compileError("StepArgs offsets are the header's");
}

// Bits of the `flags` argument of `step`.
pub const EPS_IN_SQRT: u32 = 1;
pub const CENTERED: u32 = 2;
pub const WD_L2: u32 = 4;
pub const WD_DECOUPLED: u32 = 8;
pub const MOM_HEAVY: u32 = 16;
pub const MOM_NESTEROV: u32 = 32;
/// S, M and G as 8-bit codes with a scale per block (`fillStepArgsQ8` sets it).
pub const Q8: u32 = 2048;

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
        .clip_scale = 1,
        .clip_value = std_inf,
        .one_minus_ema_decay = 1,
        .flags = flags,
        .n = a.n,
    };
    return flags;
}

const std = @import("std");
const std_inf = std.math.inf(f32);

// 8-bit state (the package's stateBits: 8, docs/quantization.md). Each of S, M and G that the
// options need is n code bytes and q8Blocks(n) f32 scales; S holds V = S − G² when centered.
// Block b covers elements [512·b, 512·b + 512). θ, g and the EMA stay f32 arrays.

/// Elements per block, each block with one f32 scale.
pub const Q8_BLOCK: u32 = 512;
/// The bytes of scratch one `step` call on 8-bit state needs.
pub const Q8_SCRATCH_BYTES: usize = 3 * Q8_BLOCK * 4 + 96;
/// u8e5m3, no sign: S, or V = S − G² when centered (the code maps, as `quantize_blockwise_8bit` takes them).
pub const Q8_SQ_AVG_FORMAT: u32 = 0;
/// s8e3m4: M.
pub const Q8_MOMENTUM_BUFFER_FORMAT: u32 = 1;
/// s8e4m3: G.
pub const Q8_GRAD_AVG_FORMAT: u32 = 2;

/// The scales n elements have: one per block, the last block may be short.
pub fn q8Blocks(n: u32) u32 {
    return n / Q8_BLOCK + @intFromBool(n % Q8_BLOCK != 0);
}

/// The n floats at src as n 8-bit codes and q8Blocks(n) f32 block scales (each a power of
/// two), rounded to nearest, in code map `format` (a `Q8_*_FORMAT`).
pub extern "rmsprop-wasm" fn quantize_blockwise_8bit(format: u32, src: [*]const f32, n: u32, codes: [*]u8, scales: [*]f32) void;
/// The n floats that n codes and their blocks' scales stand for, exactly, to out.
pub extern "rmsprop-wasm" fn dequantize_blockwise_8bit(format: u32, codes: [*]const u8, scales: [*]const f32, n: u32, out: [*]f32) void;

/// One call's scratch; its pointer type carries the 16-byte alignment:
/// `var scratch: Q8Scratch align(16) = undefined;`. Calls that run at once need one each.
pub const Q8Scratch = [Q8_SCRATCH_BYTES]u8;

/// The codes and block scales of one 8-bit array (the header's `rmsprop_q8_array`); null
/// for an array the options do not use.
pub const Q8Array = struct {
    codes: ?[*]u8 = null,
    scales: ?[*]f32 = null,

    /// The array whose codes and scales these slices hold.
    pub fn of(codes: []u8, scales: []f32) Q8Array {
        return .{ .codes = codes.ptr, .scales = scales.ptr };
    }

    /// The same array from element k on (k a multiple of Q8_BLOCK): codes + k, scales + k / 512.
    pub fn fromElement(self: Q8Array, k: u32) Q8Array {
        return .{
            .codes = if (self.codes) |c| c + k else null,
            .scales = if (self.scales) |s| s + k / Q8_BLOCK else null,
        };
    }

    fn usable(self: Q8Array) bool {
        return self.codes != null and self.scales != null;
    }
};

/// The 8-bit state of one optimizer (the header's `rmsprop_q8_state`).
pub const Q8State = struct {
    sq_avg: Q8Array,
    momentum_buffer: Q8Array = .{},
    grad_avg: Q8Array = .{},
    scratch: ?*align(16) Q8Scratch,
};

/// Why `q8Fill` or `fillStepArgsQ8` refused its arguments (nothing was written). Alignment
/// is the pointer types' (f32 scales, a 16-aligned scratch), so it needs no error of its own.
pub const Q8Error = error{
    /// What `fillStepArgs` refuses: an option outside its rule, t = 0, a misaligned θ or g,
    /// or a derived constant beyond f32.
    InvalidStepArgs,
    /// A format other than the three `Q8_*_FORMAT`s.
    UnknownFormat,
    /// A value the code map cannot encode: NaN, ±∞, or negative for S's.
    UnencodableValue,
    /// An array the options need without codes or scales, or (`q8Fill`) fewer scales than
    /// q8Blocks of its codes.
    InvalidArray,
    /// No scratch.
    MissingScratch,
};

/// Sets every element of an 8-bit array (`codes.len` of them) to `value`, with the codes and
/// scales the package gives them: before the first step, S to `initial_scale` and M, G to 0.
/// Encodes through the scratch, whole blocks at a time. Refuses, writing nothing, a bad
/// format, a value the map cannot encode, and fewer scales than q8Blocks(codes.len).
pub fn q8Fill(format: u32, value: f32, codes: []u8, scales: []f32, scratch: *align(16) Q8Scratch) Q8Error!void {
    if (format > Q8_GRAD_AVG_FORMAT) return error.UnknownFormat;
    if (!std.math.isFinite(value) or (format == Q8_SQ_AVG_FORMAT and value < 0)) return error.UnencodableValue;
    if (scales.len < q8Blocks(@intCast(codes.len))) return error.InvalidArray;
    const chunk = Q8_SCRATCH_BYTES / 4 / Q8_BLOCK * Q8_BLOCK;
    const values: *[chunk]f32 = @ptrCast(scratch);
    @memset(values[0..@min(chunk, codes.len)], value);
    var k: usize = 0;
    while (k < codes.len) : (k += chunk) {
        const len = @min(codes.len - k, chunk);
        quantize_blockwise_8bit(format, values, @intCast(len), codes[k..].ptr, scales[k / Q8_BLOCK ..].ptr);
    }
}

/// `fillStepArgs` for 8-bit state: fills the block for step t over the n elements at params,
/// grads and the codes and scales of `q`, and returns the flags (with `Q8`) for `step`.
/// first_index is element 0's index in the whole array (0 for a whole array, k for a call
/// that steps from element k): the stochastic rounding draws from it and from t, as the
/// package does. Refuses (n = 0 in the block) what `fillStepArgs` refuses, an array the
/// options need without codes or scales, and a missing scratch.
pub fn fillStepArgsQ8(args: *StepArgs, o: Options, t: u32, params: [*]f32, grads: [*]f32, q: Q8State, first_index: u32, n: u32) Q8Error!u32 {
    // The f32 fill checks the options, θ and g; params stands in for the f32 state it would
    // check, which the codes replace below.
    const a = Arrays{ .params = params, .grads = grads, .sq_avg = params, .momentum_buffer = params, .grad_avg = params, .n = n };
    var flags = fillStepArgs(args, o, t, a) orelse return error.InvalidStepArgs;
    const momentum = (flags & (MOM_HEAVY | MOM_NESTEROV)) != 0;
    const centered = (flags & CENTERED) != 0;
    const scratch = q.scratch orelse {
        args.n = 0;
        return error.MissingScratch;
    };
    if (!q.sq_avg.usable() or (momentum and !q.momentum_buffer.usable()) or (centered and !q.grad_avg.usable())) {
        args.n = 0;
        return error.InvalidArray;
    }
    args.sq_avg = codesOffset(q.sq_avg.codes);
    args.sq_avg_scales = offset(q.sq_avg.scales);
    args.momentum_buffer = if (momentum) codesOffset(q.momentum_buffer.codes) else 0;
    args.momentum_buffer_scales = if (momentum) offset(q.momentum_buffer.scales) else 0;
    args.grad_avg = if (centered) codesOffset(q.grad_avg.codes) else 0;
    args.grad_avg_scales = if (centered) offset(q.grad_avg.scales) else 0;
    args.scratch = @intCast(@intFromPtr(scratch));
    args.first_index = first_index;
    args.rounding_seed = t;
    flags |= Q8;
    args.flags = flags;
    return flags;
}

fn codesOffset(p: ?[*]u8) u32 {
    return if (p) |q| @intCast(@intFromPtr(q)) else 0;
}
