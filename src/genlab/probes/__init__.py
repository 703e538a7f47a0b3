"""Measuring instruments usable on any torch.nn.Module plus a loss and data.

- spectrum: frequency-resolved error (1-D DFT / non-uniform DFT peaks, 2-D radial bands)
- filtering: the filtering method for high-dimensional inputs (e_low, e_high)
- weights: spectral norms per layer
- information: mutual information by binning and by the KDE upper bound
- information_plane: I(X;T), I(T;Y) of every hidden layer of a stack over training (a callback)
- hessian: Hessian-vector products, exact Hessian, Lanczos, Hutchinson, SLQ
- landscape: filter-normalized 1-D/2-D slices and interpolation
"""
from genlab.probes.filtering import FilterProbe
from genlab.probes.hessian import Hessian
from genlab.probes.information import KDEMI, BinningMI
from genlab.probes.information_plane import InformationPlane
from genlab.probes.landscape import Landscape
from genlab.probes.spectrum import (SpectrumProbe, dft, first_below, radial_band_errors, relative_error,
                                    select_peaks)
from genlab.probes.weights import relative_change, spectral_norms

__all__ = ["SpectrumProbe", "dft", "select_peaks", "relative_error", "radial_band_errors", "first_below",
           "spectral_norms", "relative_change", "FilterProbe", "Hessian", "BinningMI", "KDEMI", "InformationPlane", "Landscape"]
