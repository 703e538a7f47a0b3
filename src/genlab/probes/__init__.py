"""Measuring instruments usable on any torch.nn.Module plus a loss and data."""
from genlab.probes.spectrum import (SpectrumProbe, dft, first_below, radial_band_errors, relative_error,
                                    select_peaks)
from genlab.probes.filtering import FilterProbe
from genlab.probes.weights import relative_change, spectral_norms

__all__ = ["SpectrumProbe", "dft", "select_peaks", "relative_error", "radial_band_errors", "first_below",
           "spectral_norms", "relative_change", "FilterProbe"]
