"""Fixtures for test/schedule-fidelity.test.ts from real PyTorch (Debian's python3-torch, 1.13).

torch.optim.RMSprop over two tensors, w (40) and b (7), driven 40 steps by a fixed sequence of
gradients (seeded, not a loss, so that the runs compare the schedules and not a trajectory),
with a learning-rate scheduler stepped after every optimizer.step(), as PyTorch's docs do:
CosineAnnealingLR, LinearLR as a warmup, StepLR, ExponentialLR, MultiStepLR, SequentialLR (a
LinearLR warmup then CosineAnnealingLR), OneCycleLR with its cycled momentum (the default
and a three-phase linear one), and LambdaLR over two parameter groups with different rates.
Each case records the lr (and momentum) each group used at every step, and theta every 5
steps. Run: /usr/bin/python3 scripts/torch-schedule-fixtures.py > test/fixtures/torch-schedules.json
"""
import json
import torch
from torch.optim import lr_scheduler as sched

torch.manual_seed(0)
torch.set_num_threads(1)
N_W, N_B, STEPS, EVERY = 40, 7, 40, 5
LR, ALPHA, EPS = 0.05, 0.9, 0.01
theta0 = torch.randn(N_W + N_B, dtype=torch.float32) * 3
# Gradients over four decades, so that the running average S differs from element to element.
scale = torch.logspace(-2, 2, N_W + N_B, dtype=torch.float32)
grads = [torch.randn(N_W + N_B, dtype=torch.float32) * scale + 0.1 for _ in range(STEPS)]


def warm_then_decay(t):
    """The LambdaLR factor: a warmup over 4 steps, then 0.95 per step."""
    return (t + 1) / 5 if t < 4 else 0.95 ** (t - 4)


CASES = {
    "cosine": dict(momentum=0.5, make=lambda o: sched.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.001)),
    "linearWarmup": dict(make=lambda o: sched.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10)),
    "step": dict(make=lambda o: sched.StepLR(o, step_size=7, gamma=0.5)),
    "exponential": dict(momentum=0.9, make=lambda o: sched.ExponentialLR(o, gamma=0.95)),
    "multiStep": dict(make=lambda o: sched.MultiStepLR(o, milestones=[10, 25], gamma=0.3)),
    "sequential": dict(
        make=lambda o: sched.SequentialLR(
            o,
            [sched.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=8), sched.CosineAnnealingLR(o, T_max=32, eta_min=1e-4)],
            milestones=[8],
        )
    ),
    "oneCycle": dict(momentum=0.9, make=lambda o: sched.OneCycleLR(o, max_lr=LR, total_steps=STEPS)),
    "oneCycleThreePhase": dict(
        momentum=0.9,
        make=lambda o: sched.OneCycleLR(o, max_lr=LR, total_steps=STEPS, pct_start=0.25, anneal_strategy="linear", three_phase=True),
    ),
    "lambdaGroups": dict(groups=[LR, 0.01], make=lambda o: sched.LambdaLR(o, lr_lambda=warm_then_decay)),
}


def run(case):
    w = theta0[:N_W].clone().requires_grad_(True)
    b = theta0[N_W:].clone().requires_grad_(True)
    rates = case.get("groups")
    params = [{"params": [w], "lr": rates[0]}, {"params": [b], "lr": rates[1]}] if rates else [w, b]
    opt = torch.optim.RMSprop(params, lr=LR, alpha=ALPHA, eps=EPS, momentum=case.get("momentum", 0))
    scheduler = case["make"](opt)
    lrs, momentums, thetas = [], [], []
    for t in range(STEPS):
        lrs.append([g["lr"] for g in opt.param_groups])
        momentums.append([g["momentum"] for g in opt.param_groups])
        w.grad = grads[t][:N_W].clone()
        b.grad = grads[t][N_W:].clone()
        opt.step()
        scheduler.step()
        if (t + 1) % EVERY == 0:
            thetas.append(torch.cat([w, b]).tolist())
    return {"lrs": lrs, "momentums": momentums, "thetas": thetas}


print(json.dumps({
    "torch": torch.__version__,
    "sizes": [N_W, N_B],
    "steps": STEPS, "every": EVERY,
    "lr": LR, "alpha": ALPHA, "eps": EPS,
    "theta0": theta0.tolist(),
    "grads": [g.tolist() for g in grads],
    "cases": {name: run(case) for name, case in CASES.items()},
}))
