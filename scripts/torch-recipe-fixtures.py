"""Fixtures for test/recipe-fidelity.test.ts from real PyTorch (Debian's python3-torch, 1.13).

An ill-conditioned quadratic L = sum_i a_i (theta_i - c_i)^2 / 2 over two tensors, w (40) and
b (7), trained 25 steps by torch.optim.RMSprop with the training recipe around it:
clip_grad_norm_ over both tensors, clip_grad_norm_ per tensor, clip_grad_value_, gradients
unscaled from a loss scale and then clipped, and an EMA of the weights that starts at
theta_0. Each case records theta (and the EMA) after every step and what clip_grad_norm_
returned. Run: /usr/bin/python3 scripts/torch-recipe-fixtures.py > test/fixtures/torch-recipe.json
"""
import json
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
N_W, N_B, STEPS = 40, 7, 25
# Curvatures over six decades: the ill-conditioning clipping is for.
a = torch.logspace(-3, 3, N_W + N_B, dtype=torch.float32)
c = torch.randn(N_W + N_B, dtype=torch.float32)
theta0 = torch.randn(N_W + N_B, dtype=torch.float32) * 3
# A large ε keeps the update sensitive to the gradient's scale (RMSProp alone is nearly scale-free).
LR, ALPHA, EPS = 0.01, 0.9, 0.05


def run(case):
    w = theta0[:N_W].clone().requires_grad_(True)
    b = theta0[N_W:].clone().requires_grad_(True)
    opt = torch.optim.RMSprop([w, b], lr=LR, alpha=ALPHA, eps=EPS)
    ema = theta0.clone()
    thetas, emas, norms = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        theta = torch.cat([w, b])
        scale = 1024.0 if case == "gradScale+global" else 1.0
        loss = (a * (theta - c) ** 2).sum() / 2 * scale
        loss.backward()
        norm = None
        with torch.no_grad():
            if scale != 1.0:
                for p in (w, b):
                    p.grad.mul_(1 / scale)
        if case in ("global", "gradScale+global", "ema+global"):
            norm = torch.nn.utils.clip_grad_norm_([w, b], max_norm=1.0)
        elif case == "perTensor":
            gw = w.grad.clone()
            gb = b.grad.clone()
            norm = torch.linalg.vector_norm(torch.cat([gw, gb]))
            torch.nn.utils.clip_grad_norm_([w], max_norm=1.0)
            torch.nn.utils.clip_grad_norm_([b], max_norm=0.5)
        elif case == "value":
            torch.nn.utils.clip_grad_value_([w, b], clip_value=0.5)
        opt.step()
        with torch.no_grad():
            theta = torch.cat([w, b])
            if case == "ema+global":
                ema.mul_(0.9).add_(theta, alpha=0.1)
                emas.append(ema.tolist())
        thetas.append(theta.tolist())
        norms.append(None if norm is None else float(norm))
    return {"thetas": thetas, "emas": emas, "gradNorms": norms}


cases = ["global", "perTensor", "value", "gradScale+global", "ema+global"]
print(json.dumps({
    "torch": torch.__version__,
    "sizes": [N_W, N_B],
    "lr": LR, "alpha": ALPHA, "eps": EPS,
    "a": a.tolist(), "c": c.tolist(), "theta0": theta0.tolist(),
    "cases": {name: run(name) for name in cases},
}))
