"""Every nn.Module genlab trains: MLPs and their stacks; more families are added per phenomenon."""
from genlab.models.features import GaborFeatures, RandomConvFeatures, feature_distances
from genlab.models.mlp import MLP, activation
from genlab.models.product import product_net
from genlab.models.stacked import MaskedWidths, StackedMLP

__all__ = ["MLP", "activation", "StackedMLP", "MaskedWidths", "product_net", "RandomConvFeatures", "GaborFeatures",
           "feature_distances"]
