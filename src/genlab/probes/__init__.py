"""Measuring instruments usable on any torch.nn.Module plus a loss and data.

- spectrum: frequency-resolved error (1-D DFT / non-uniform DFT peaks); normalized amplitude per frequency
- bands: relative error over frequency bands (1-D DFT bands, 2-D radial bands of an image)
- filtering: the filtering method for high-dimensional inputs (e_low, e_high)
- weights: spectral norms per layer
- information: mutual information by binning and by the KDE upper bound
- information_plane: I(X;T), I(T;Y) of every hidden layer of a stack over training (a callback)
- hessian: Hessian-vector products, exact Hessian, Lanczos, Hutchinson, SLQ
- landscape: filter-normalized 1-D/2-D slices and interpolation
- critical: distinct critical points among root-search results, escape steps from a plateau
- fourier_gradient: the gradient of each frequency's loss L(k) and the theory's factor exp(−π|k|/(2|w|))
  (Xu et al. 2020), spectral energy above a cutoff
- fit: time to fit (first epochs at 99.9 % and 100 % training accuracy)
- image: PSNR and SSIM with their convention (``CONVENTION``)
- the Deep Image Prior's monitor callbacks and stopping rules, defined in :mod:`genlab.dip.monitor`
  and :mod:`genlab.dip.stopping` and found here too (imported on first use: genlab.dip imports probes)
"""
import importlib

from genlab.probes.bands import BandProbe, StackBandError, band_error, pixel_coordinates, radial_band_errors
from genlab.probes.critical import distinct_critical, escape_step
from genlab.probes.filtering import FilterProbe
from genlab.probes.fit import FitMonitor, time_to_fit
from genlab.probes.fourier_gradient import FourierGradient, energy_above, fit_slope, theory_factor
from genlab.probes.hessian import Hessian
from genlab.probes.image import CONVENTION, psnr, ssim
from genlab.probes.information import KDEMI, BinningMI
from genlab.probes.information_plane import InformationPlane
from genlab.probes.landscape import Landscape
from genlab.probes.spectrum import SpectralAmplitude, SpectrumProbe, amplitude, dft, first_below, relative_error, select_peaks
from genlab.probes.weights import SpectralNorms, relative_change, spectral_norms

__all__ = ["SpectrumProbe", "SpectralAmplitude", "amplitude", "dft", "select_peaks", "relative_error",
           "radial_band_errors", "first_below",
           "BandProbe", "StackBandError", "band_error", "pixel_coordinates",
           "spectral_norms", "SpectralNorms", "relative_change", "FilterProbe", "Hessian", "BinningMI", "KDEMI", "Landscape",
           "distinct_critical", "escape_step", "FitMonitor", "time_to_fit", "InformationPlane",
           "psnr", "ssim", "CONVENTION", "FourierGradient", "theory_factor", "fit_slope", "energy_above"]

_DIP = {**dict.fromkeys(("Average", "Snapshots", "PSNRTrace", "RuleStop", "TimeBudget", "ProgressBar"), "monitor"),
        **dict.fromkeys(("WMV", "HeldOut", "StopBelow", "make_rule"), "stopping")}
__all__ += list(_DIP)


def __getattr__(name: str):
    if name in _DIP:
        return getattr(importlib.import_module(f"genlab.dip.{_DIP[name]}"), name)
    raise AttributeError(f"module 'genlab.probes' has no attribute {name!r}")
