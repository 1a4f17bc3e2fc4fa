"""Muon: momentum, then the update orthogonalised by a Newton-Schulz iteration, for 2-D weight matrices.

Written from the public description (K. Jordan et al., "Muon: An optimizer for hidden layers in neural
networks", 2024): keep a momentum buffer of the gradient (Nesterov form), replace the update matrix G by
an approximation of U V^T from G's SVD (the nearest semi-orthogonal matrix) computed with a few steps of
the quintic iteration X <- a X + (b A + c A^2) X, A = X X^T, on X = G / ||G||_F, whose coefficients
(3.4445, -4.7750, 2.0315) push every singular value into roughly [0.7, 1.2] in five steps; scale by
sqrt(max(1, rows / cols)) so that tall and wide matrices get updates of similar RMS, and apply with the
learning rate (decoupled weight decay optional). Everything that is not a 2-D matrix (norm gains) goes
to AdamW instead.
"""

from __future__ import annotations

import torch

NS_COEFFS = (3.4445, -4.7750, 2.0315)


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """Approximately U V^T for G = U S V^T (G 2-D). bfloat16 on CUDA, float32 elsewhere."""
    a, b, c = NS_COEFFS
    x = g.to(torch.bfloat16 if g.is_cuda else torch.float32)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T                      # iterate on the wide form: A = X X^T is the smaller Gram matrix
    x = x / (x.norm() + eps)         # all singular values <= 1
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * (A @ A)
        x = a * x + B @ x
    if tall:
        x = x.T
    return x.to(g.dtype)


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                                      ns_steps=ns_steps))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon is for 2-D matrices, got shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p)
                buf = state["momentum"]
                buf.mul_(group["momentum"]).add_(p.grad)
                update = p.grad.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                o = orthogonalize(update, group["ns_steps"])
                scale = max(1.0, p.shape[0] / p.shape[1]) ** 0.5
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(o, alpha=-group["lr"] * scale)
