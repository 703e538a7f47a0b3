"""Shared pieces of the saddle-point experiments: data, second-order steps, critical-point search.

Dauphin et al., "Identifying and attacking the saddle point problem in high-dimensional
non-convex optimization" (NIPS 2014). Everything here works on tiny networks (a few
hundred parameters), where the exact Hessian costs milliseconds.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genlab.data.preprocess import area_downsample
from genlab.data.vision import load_dataset
from genlab.probes.hessian import Hessian


def downsampled_mnist(n: int, pool: int = 7, seed: int = 0, dtype=torch.float64):
    """The first ``n`` MNIST training images average-pooled by ``pool`` (28/7 = 4x4 = 16 inputs),
    each input standardized; targets one-hot centred (for the squared loss). Returns (x, y_onehot, labels)."""
    d = load_dataset("mnist")
    idx = np.random.default_rng(seed).permutation(len(d.x_train))[:n]
    x = area_downsample(d.x_train[idx], 28 // pool, dtype)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    labels = torch.tensor(d.y_train[idx])
    y = nn.functional.one_hot(labels, 10).to(dtype) - 0.1
    return x, y, labels


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()


def set_params(model: nn.Module, theta: torch.Tensor) -> None:
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta.to(next(model.parameters()).dtype), model.parameters())


def spectral_step(H: torch.Tensor, g: torch.Tensor, mode: str, damping: float) -> torch.Tensor:
    """The update direction f(H) g, through the eigendecomposition H = Q diag(lambda) Q^T.

    saddle-free: f(lambda) = 1 / (|lambda| + damping)   (Dauphin et al.: |H| instead of H)
    newton:      f(lambda) = lambda / (lambda^2 + damping^2)   (damped Newton that keeps the
                 sign of every curvature, hence, like Newton, moves *toward* a saddle along its
                 negative directions; with damping 0 it is H^+ g)
    """
    lam, Q = torch.linalg.eigh(H)
    c = Q.T @ g
    f = 1.0 / (lam.abs() + damping) if mode == "saddle-free" else lam / (lam ** 2 + damping ** 2)
    return Q @ (f * c)


class SecondOrder(torch.optim.Optimizer):
    """theta <- theta - lr f(H) g with the exact Hessian of the full-batch loss (see spectral_step).

    An optimizer, so it runs inside genlab.train.train: train computes the loss and its
    gradient (p.grad), this step asks ``hessian()`` (a :class:`Hessian` at the current
    parameters, over the same parameters in the same order) for H. Full batch only.
    """

    def __init__(self, params, hessian, lr: float = 1.0, damping: float = 1e-2, mode: str = "saddle-free"):
        if mode not in ("saddle-free", "newton"):
            raise ValueError(f"mode={mode!r}; choose saddle-free or newton")
        super().__init__(params, dict(lr=lr, damping=damping))
        self.hessian, self.mode = hessian, mode

    @torch.no_grad()
    def step(self, closure=None):
        group = self.param_groups[0]
        ps = group["params"]
        g = torch.cat([p.grad.reshape(-1) for p in ps]).double()
        with torch.enable_grad():
            H = self.hessian().exact()
        d = spectral_step(H, g, self.mode, group["damping"]) * group["lr"]
        i = 0
        for p in ps:
            p.sub_(d[i:i + p.numel()].reshape(p.shape).to(p.dtype))
            i += p.numel()
        return None


def find_critical_point(model: nn.Module, loss_fn, data, iters: int = 40, tol: float = 1e-7, mu: float = 1e-2):
    """From the model's parameters, drive ||grad L|| to zero by Levenberg-Marquardt on grad L = 0.

    Gauss-Newton on 1/2 ||g||^2 gives the step H (H^2 + mu)^-1 g: a damped Newton step that,
    unlike gradient descent on L, is attracted to critical points of every index. It is a
    root search, not training, hence a small loop here rather than genlab.train.train.
    Returns (grad norm, iterations); the model holds the point found.
    """
    h = Hessian(model, loss_fn, data)
    g = h.gradient().double()
    gn = float(g.norm())
    for it in range(iters):
        if gn < tol:
            return gn, it
        H, theta = h.exact(), flat_params(model)
        for _ in range(30):
            set_params(model, theta - spectral_step(H, g, "newton", mu ** 0.5))
            h2 = Hessian(model, loss_fn, data)
            g2 = h2.gradient().double()
            if float(g2.norm()) < gn:
                h, g, gn, mu = h2, g2, float(g2.norm()), max(mu / 3, 1e-12)
                break
            mu *= 4
        else:
            set_params(model, theta)
            return gn, it
    return gn, iters
