"""Models: MLPs (and their stacked ensembles in genlab.ensemble); more families are added per experiment."""
from genlab.models.mlp import MLP, activation

__all__ = ["MLP", "activation"]
