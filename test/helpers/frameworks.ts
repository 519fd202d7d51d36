// RMSProp as five frameworks compute it, transcribed in f64 from their published sources
// (operation order kept where it is visible in the source). The package's presets are
// checked against these trajectories in test/fidelity.test.ts. No code is shared with src/.

/** Per-parameter state of one framework's optimizer, all in f64. */
export interface F64State {
  p: Float64Array;
  v: Float64Array; // square average: square_avg / velocities / ms / nu
  mg: Float64Array; // gradient average (centered)
  mom: Float64Array; // momentum buffer / trace
  t: number;
}

export interface F64Hyper {
  lr: number;
  rho: number;
  eps: number;
  momentum: number;
  centered: boolean;
  weightDecay: number;
  nesterov?: boolean;
  biasCorrection?: boolean;
}

export type F64Step = (s: F64State, g: Float64Array, h: F64Hyper) => void;

export function f64State(p0: Float64Array, initialV: number): F64State {
  const n = p0.length;
  return {
    p: p0.slice(),
    v: new Float64Array(n).fill(initialV),
    mg: new Float64Array(n),
    mom: new Float64Array(n),
    t: 0,
  };
}

// PyTorch, torch/optim/rmsprop.py `_single_tensor_rmsprop` (pytorch/pytorch@00853fbf,
// same logic in current main), and aten/src/ATen/native/Lerp.h for grad_avg.lerp_:
//   grad = grad.add(param, alpha=weight_decay)
//   square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
//   grad_avg.lerp_(grad, 1 - alpha); avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
//   avg = avg.add_(eps)
//   buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
//   else param.addcdiv_(grad, avg, value=-lr)
export const pytorchStep: F64Step = (s, grad, h) => {
  const alpha = h.rho;
  for (let i = 0; i < s.p.length; i++) {
    let g = grad[i];
    if (h.weightDecay !== 0) g = g + h.weightDecay * s.p[i];
    s.v[i] = s.v[i] * alpha + (1 - alpha) * g * g;
    let avg: number;
    if (h.centered) {
      const w = 1 - alpha; // lerp: self + w·(end − self) when |w| < 0.5, else end − (end − self)·(1 − w)
      s.mg[i] = Math.abs(w) < 0.5 ? s.mg[i] + w * (g - s.mg[i]) : g - (g - s.mg[i]) * (1 - w);
      avg = Math.sqrt(s.v[i] - s.mg[i] * s.mg[i]);
    } else {
      avg = Math.sqrt(s.v[i]);
    }
    avg = avg + h.eps;
    if (h.momentum > 0) {
      s.mom[i] = s.mom[i] * h.momentum + g / avg;
      s.p[i] = s.p[i] - h.lr * s.mom[i];
    } else {
      s.p[i] = s.p[i] - h.lr * (g / avg);
    }
  }
  s.t += 1;
};

// Keras 3, keras/src/optimizers/rmsprop.py `update_step` (keras-team/keras@13de96ae) and
// base_optimizer.py `_apply_weight_decay` (keras-team/keras@001750db):
//   variable.assign(variable - variable * wd * lr)           (before update_step)
//   velocity = rho * velocity + (1 - rho) * square(gradient)
//   centered: average_grad = rho * average_grad + (1 - rho) * gradient
//             denominator = velocity - square(average_grad) + epsilon
//   else      denominator = velocity + epsilon
//   increment = lr * gradient / sqrt(denominator)
//   momentum: momentum = momentum * m + increment; variable -= momentum; else variable -= increment
export const kerasStep: F64Step = (s, grad, h) => {
  for (let i = 0; i < s.p.length; i++) {
    const g = grad[i];
    if (h.weightDecay !== 0) s.p[i] = s.p[i] - s.p[i] * h.weightDecay * h.lr;
    s.v[i] = h.rho * s.v[i] + (1 - h.rho) * (g * g);
    let denominator: number;
    if (h.centered) {
      s.mg[i] = h.rho * s.mg[i] + (1 - h.rho) * g;
      denominator = s.v[i] - s.mg[i] * s.mg[i] + h.eps;
    } else {
      denominator = s.v[i] + h.eps;
    }
    const increment = (h.lr * g) / Math.sqrt(denominator);
    if (h.momentum > 0) {
      s.mom[i] = s.mom[i] * h.momentum + increment;
      s.p[i] = s.p[i] - s.mom[i];
    } else {
      s.p[i] = s.p[i] - increment;
    }
  }
  s.t += 1;
};

// TensorFlow 1, tensorflow/core/kernels/training_ops.cc, functors ApplyRMSProp and
// ApplyCenteredRMSProp (tensorflow/tensorflow@008130e9); slots from
// tensorflow/python/training/rmsprop.py (the "rms" slot is initialised to ones):
//   ms.device(d) += (grad.square() - ms) * (1 - rho)
//   mg.device(d) += (grad - mg) * (1 - rho)                       (centered)
//   denom = (ms - mg.square()) + epsilon                           (centered)
//   mom = mom * momentum + (grad * lr) / denom.sqrt()  |  ... / (ms + epsilon).sqrt()
//   var -= mom
export const tensorflow1Step: F64Step = (s, grad, h) => {
  for (let i = 0; i < s.p.length; i++) {
    const g = grad[i];
    s.v[i] = s.v[i] + (g * g - s.v[i]) * (1 - h.rho);
    let denom: number;
    if (h.centered) {
      s.mg[i] = s.mg[i] + (g - s.mg[i]) * (1 - h.rho);
      denom = s.v[i] - s.mg[i] * s.mg[i] + h.eps;
    } else {
      denom = s.v[i] + h.eps;
    }
    s.mom[i] = s.mom[i] * h.momentum + (g * h.lr) / Math.sqrt(denom);
    s.p[i] = s.p[i] - s.mom[i];
  }
  s.t += 1;
};

// TensorFlow.js, tfjs-core/src/optimizers/rmsprop_optimizer.ts `applyGradients`
// (tensorflow/tfjs@2e55c335):
//   newAccumulatedMeanSquare = add(mul(accumulatedMeanSquare, decay), mul(square(gradient), 1 - decay))
//   centered: newAccumulatedMeanGrad = add(mul(accumulatedMeanGrad, decay), mul(gradient, 1 - decay))
//     newMom = add(mul(accumulatedMoments, momentum),
//                  div(mul(gradient, learningRate),
//                      sqrt(sub(newAccumulatedMeanSquare, add(square(newAccumulatedMeanGrad), epsilon)))))
//   else newMom = add(mul(accumulatedMoments, momentum),
//                     div(mul(gradient, learningRate), sqrt(add(newAccumulatedMeanSquare, epsilon))))
//   value.assign(sub(value, newMom))
export const tfjsStep: F64Step = (s, grad, h) => {
  for (let i = 0; i < s.p.length; i++) {
    const g = grad[i];
    s.v[i] = s.v[i] * h.rho + g * g * (1 - h.rho);
    let root: number;
    if (h.centered) {
      s.mg[i] = s.mg[i] * h.rho + g * (1 - h.rho);
      root = Math.sqrt(s.v[i] - (s.mg[i] * s.mg[i] + h.eps));
    } else {
      root = Math.sqrt(s.v[i] + h.eps);
    }
    s.mom[i] = s.mom[i] * h.momentum + (g * h.lr) / root;
    s.p[i] = s.p[i] - s.mom[i];
  }
  s.t += 1;
};

// optax, optax/_src/alias.py `rmsprop` (google-deepmind/optax@682d3123): the chain
// scale_by_rms | scale_by_stddev → scale_by_learning_rate → trace(momentum, nesterov);
// optax/_src/transform.py and optax/tree_utils/_tree_math.py (optax@006cebd2, @2e6feffc):
//   mu = (1 - decay) * g + decay * mu                                (centered)
//   nu = (1 - decay) * g**2 + decay * nu
//   bias_correction: nu_hat = nu / (1 - decay**count), mu_hat likewise
//   updates = g * rsqrt(nu_hat [- mu_hat**2] + eps)    |   g / (sqrt(nu_hat [- mu_hat**2]) + eps)
//   updates = -lr * updates
//   trace: new_trace = updates + momentum * trace; updates = nesterov ? updates + momentum * new_trace : new_trace
//   apply_updates: p = p + updates
export function optaxStep(epsInSqrt: boolean): F64Step {
  return (s, grad, h) => {
    const count = s.t + 1;
    const c = h.biasCorrection ? 1 - h.rho ** count : 1;
    for (let i = 0; i < s.p.length; i++) {
      const g = grad[i];
      if (h.centered) s.mg[i] = (1 - h.rho) * g + h.rho * s.mg[i];
      s.v[i] = (1 - h.rho) * g ** 2 + h.rho * s.v[i];
      const nuHat = s.v[i] / c;
      const muHat = s.mg[i] / c;
      const variance = h.centered ? nuHat - muHat ** 2 : nuHat;
      let u = epsInSqrt ? g * (1 / Math.sqrt(variance + h.eps)) : g / (Math.sqrt(variance) + h.eps);
      u = -h.lr * u;
      if (h.momentum > 0) {
        s.mom[i] = u + h.momentum * s.mom[i];
        u = h.nesterov ? u + h.momentum * s.mom[i] : s.mom[i];
      }
      s.p[i] = s.p[i] + u;
    }
    s.t += 1;
  };
}
