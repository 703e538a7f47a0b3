"""Losses: of stacked models (each member's loss, summed, so each gets exactly the gradient it would
get alone), and the squared loss of the saddle-point experiments.

Shapes: a stack's output is (M, N, d) for M members and N samples; a single model's is (N, d).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def stacked_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's mean squared error (out: (M, N, d), y: (N, d))."""
    return ((out - y.unsqueeze(0)) ** 2).mean(dim=(1, 2)).sum()


def per_model_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's MSE against its own target (out, y: (M, N, 1))."""
    return ((out - y) ** 2).mean(dim=(1, 2)).sum()


def stacked_ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-model mean cross-entropy: out (M, N, C), y (N,) -> (M,)."""
    M, N, C = out.shape
    return F.cross_entropy(out.reshape(-1, C), y.repeat(M), reduction="none").view(M, N).mean(1)


def squared_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """1/2 ||out - y||^2 summed over outputs, averaged over samples (out, y: (N, d)); Dauphin et al. 2014's loss."""
    return 0.5 * ((out - y) ** 2).sum(1).mean()


__all__ = ["stacked_mse", "per_model_mse", "stacked_ce", "squared_loss"]
