"""Experiments, one folder per phenomenon family: ``experiments/<family>/<name>.py``.

Each module declares its experiment with :func:`experiment` (see experiments/README.md).
"""
from genlab.experiments.base import Claim, Experiment, claim, experiment, families, get, register, registry, verdict

__all__ = ["Claim", "Experiment", "claim", "experiment", "register", "registry", "get", "families", "verdict"]
