//! examples/c-model's two-layer perceptron, in Zig: the forward and backward pass write
//! `grads`, and model_step() fills a StepArgs block and calls the kernel, imported from
//! "rmsprop-wasm", on the memory both share. Same data, weights and variants as model.c.
//!
//! Task: points in [−3, 3]², labelled by the ring they fall in (r < 1.1, r < 2.1, farther).
//! 2 inputs → 32 ReLU units → 3 softmax outputs, full batch. build.mjs compiles it with
//! Zig 0.11 for wasm32-freestanding, the memory imported.
const rmsprop = @import("rmsprop_wasm.zig");

const POINTS = 600;
const INPUTS = 2;
const HIDDEN = 32;
const CLASSES = 3;
// θ, in this order: W1 [HIDDEN][INPUTS], b1 [HIDDEN], W2 [CLASSES][HIDDEN], b2 [CLASSES].
const W1 = 0;
const B1 = W1 + HIDDEN * INPUTS;
const W2 = B1 + HIDDEN;
const B2 = W2 + CLASSES * HIDDEN;
const PARAMS = B2 + CLASSES;

// The optimizer's arrays, 16-byte aligned for the kernel's vector loads.
var params: [PARAMS]f32 align(16) = undefined;
var grads: [PARAMS]f32 align(16) = undefined;
var sq_avg: [PARAMS]f32 align(16) = undefined;
var momentum_buffer: [PARAMS]f32 align(16) = undefined;
var grad_avg: [PARAMS]f32 align(16) = undefined;
var step_args: rmsprop.StepArgs = .{};
var options: rmsprop.Options = .{};
var steps_done: u32 = 0;

var x: [POINTS][INPUTS]f32 = undefined;
var label: [POINTS]usize = undefined;

/// mulberry32, the PRNG of the package's tests.
var rng_state: u32 = 0;
fn uniform() f64 {
    rng_state +%= 0x6d2b79f5;
    var t = rng_state;
    t = (t ^ (t >> 15)) *% (t | 1);
    t ^= t +% ((t ^ (t >> 7)) *% (t | 61));
    return @as(f64, @floatFromInt(t ^ (t >> 14))) / 4294967296.0;
}

/// The variants the tests compare with createRmsprop, in model.c's order.
fn variant(which: u32) rmsprop.Options {
    return switch (which) {
        1 => .{ .lr = 0.003, .beta = 0.99, .eps_in_sqrt = false, .momentum = 0.9, .weight_decay = 1e-4 },
        2 => .{ .lr = 0.005, .centered = true, .momentum = 0.5, .lr_in_momentum = true, .eps = 1e-7 },
        3 => .{ .lr = 0.005, .eps = 1e-7, .weight_decay = 0.01, .decoupled_weight_decay = true },
        4 => .{ .lr = 0.003, .momentum = 0.9, .nesterov = true, .lr_in_momentum = true, .bias_correction = true },
        5 => .{ .lr = 0.01, .eps = 1e-10, .initial_scale = 1 },
        else => .{},
    };
}

export fn model_variant_count() u32 {
    return 6;
}
export fn model_param_count() u32 {
    return PARAMS;
}
export fn model_params() [*]f32 {
    return &params;
}
export fn model_grads() [*]f32 {
    return &grads;
}
export fn model_sq_avg() [*]f32 {
    return &sq_avg;
}
export fn model_momentum_buffer() [*]f32 {
    return &momentum_buffer;
}
export fn model_grad_avg() [*]f32 {
    return &grad_avg;
}

/// Seeded data and weights, and fresh optimizer state for the chosen variant.
export fn model_init(which: u32, seed: u32) void {
    rng_state = seed;
    for (&x, &label) |*point, *l| {
        const a = uniform() * 6 - 3;
        const b = uniform() * 6 - 3;
        const r = @sqrt(a * a + b * b);
        point.* = .{ @floatCast(a), @floatCast(b) };
        l.* = if (r < 1.1) 0 else if (r < 2.1) 1 else 2;
    }
    // He-style uniform scale for the ReLU layer, smaller for the output layer.
    for (&params, 0..) |*p, j| {
        const spread: f64 = if (j < B1) 1.2 else if (j < W2) 0.0 else if (j < B2) 0.25 else 0.0;
        p.* = @floatCast((uniform() * 2 - 1) * spread);
    }
    options = variant(which);
    @memset(&sq_avg, @as(f32, @floatCast(options.initial_scale)));
    @memset(&momentum_buffer, 0);
    @memset(&grad_avg, 0);
    steps_done = 0;
}

/// One forward pass over a point: hidden activations and the class scores.
fn forward(i: usize, hidden: *[HIDDEN]f32, scores: *[CLASSES]f64) void {
    for (hidden, 0..) |*h, j| {
        const z = params[B1 + j] + params[W1 + j * INPUTS] * x[i][0] + params[W1 + j * INPUTS + 1] * x[i][1];
        h.* = if (z > 0) z else 0;
    }
    for (scores, 0..) |*s, c| {
        var z: f64 = params[B2 + c];
        for (hidden, 0..) |h, j| z += @as(f64, params[W2 + c * HIDDEN + j]) * h;
        s.* = z;
    }
}

/// e^x for x ≤ 0 (softmax after subtracting the max): 2^k · e^r with |r| ≤ ln2/2, as model.c.
fn expNonpositive(v: f64) f64 {
    if (v < -700) return 0;
    const k = @floor(v * 1.4426950408889634 + 0.5);
    const r = v - k * 0.6931471805599453;
    var term: f64 = 1;
    var sum: f64 = 1;
    var i: u32 = 1;
    while (i < 14) : (i += 1) {
        term *= r / @as(f64, @floatFromInt(i));
        sum += term;
    }
    const bits: u64 = @as(u64, @intCast(@as(i64, @intFromFloat(k)) + 1023)) << 52;
    return sum * @as(f64, @bitCast(bits));
}

/// ln v for v in [1, CLASSES] (a softmax denominator): 2·atanh((v − 1)/(v + 1)), as model.c.
fn logSmall(v: f64) f64 {
    const s = (v - 1) / (v + 1);
    const s2 = s * s;
    var power = s;
    var sum: f64 = 0;
    var i: u32 = 1;
    while (i < 60) : (i += 2) {
        sum += power / @as(f64, @floatFromInt(i));
        power *= s2;
    }
    return 2 * sum;
}

fn isLabel(c: usize, l: usize) f64 {
    return if (c == l) 1 else 0;
}

/// Mean cross-entropy over every point; writes its gradient into `grads`.
export fn model_loss_and_grad() f64 {
    var total = [_]f64{0} ** PARAMS;
    var loss: f64 = 0;
    for (0..POINTS) |i| {
        var hidden: [HIDDEN]f32 = undefined;
        var scores: [CLASSES]f64 = undefined;
        forward(i, &hidden, &scores);
        var top: f64 = -1e300;
        for (scores) |s| top = if (s > top) s else top;
        var p: [CLASSES]f64 = undefined;
        var sum: f64 = 0;
        for (&p, scores) |*pc, s| {
            pc.* = expNonpositive(s - top);
            sum += pc.*;
        }
        const l = label[i];
        loss += logSmall(sum) - (scores[l] - top);
        for (0..CLASSES) |c| {
            const dz = p[c] / sum - isLabel(c, l); // ∂loss/∂score
            total[B2 + c] += dz;
            for (0..HIDDEN) |j| total[W2 + c * HIDDEN + j] += dz * hidden[j];
        }
        for (0..HIDDEN) |j| {
            if (hidden[j] <= 0) continue;
            var dh: f64 = 0;
            for (0..CLASSES) |c| dh += @as(f64, params[W2 + c * HIDDEN + j]) * (p[c] / sum - isLabel(c, l));
            total[B1 + j] += dh;
            total[W1 + j * INPUTS] += dh * x[i][0];
            total[W1 + j * INPUTS + 1] += dh * x[i][1];
        }
    }
    for (&grads, total) |*g, sum| g.* = @floatCast(sum / POINTS);
    return loss / POINTS;
}

/// One RMSProp step from `grads`, run by the imported kernel. Returns −1 when applied, the
/// index of the first NaN or ±∞ gradient when it skipped the step, or −2 when the options
/// were refused.
export fn model_step() i32 {
    const bad = rmsprop.first_nonfinite_f32(&grads, PARAMS);
    if (bad >= 0) return bad;
    const arrays = rmsprop.Arrays{
        .params = &params,
        .grads = &grads,
        .sq_avg = &sq_avg,
        .momentum_buffer = &momentum_buffer,
        .grad_avg = &grad_avg,
        .n = PARAMS,
    };
    const flags = rmsprop.fillStepArgs(&step_args, options, steps_done + 1, arrays) orelse return -2;
    rmsprop.step(flags, &step_args);
    steps_done += 1;
    return -1;
}

/// Fraction of points whose highest score is their label.
export fn model_accuracy() f64 {
    var right: u32 = 0;
    for (0..POINTS) |i| {
        var hidden: [HIDDEN]f32 = undefined;
        var scores: [CLASSES]f64 = undefined;
        forward(i, &hidden, &scores);
        var best: usize = 0;
        for (1..CLASSES) |c| best = if (scores[c] > scores[best]) c else best;
        right += @intFromBool(best == label[i]);
    }
    return @as(f64, @floatFromInt(right)) / POINTS;
}
