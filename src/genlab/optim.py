"""Optimizers beyond torch.optim: second-order steps, saddle-free Newton, critical-point search, NTK-scaled GD.

- :func:`spectral_step`, :class:`SecondOrder`: Newton, damped Newton and saddle-free Newton
  (|H|^-1 g) from the exact Hessian (Dauphin et al. 2014, Sec. 5), for networks small enough
  for the exact Hessian.
- :func:`find_critical_point`: Levenberg-Marquardt on the squared gradient norm, which finds
  saddles as well as minima (Dauphin et al. 2014, Fig. 1).
- :func:`ntk_gd`: plain full-batch GD with each weight's step scaled by 1/fan_in (the NTK
  parametrization's learning rate; Xu et al. 2018's wide-network experiment).
"""
from __future__ import annotations

import torch
from torch import nn

from genlab.probes.hessian import Hessian


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



def ntk_gd(lr: float):
    """Plain GD with step lr / fan_in for (M, fan_in, fan_out) stacked weights and lr for biases."""
    def make(params):
        return torch.optim.SGD([{"params": [p], "lr": lr / (p.shape[1] if p.shape[1] > 1 else 1)} for p in params], lr=lr)
    return make


__all__ = ["flat_params", "set_params", "spectral_step", "SecondOrder", "find_critical_point", "ntk_gd"]
