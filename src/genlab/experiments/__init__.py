"""One module per phenomenon family; each registers its experiments on import."""
from genlab.experiments.base import Claim, Experiment, families, get, register, registry, verdict

__all__ = ["Claim", "Experiment", "register", "registry", "get", "families", "verdict"]
