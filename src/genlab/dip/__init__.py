"""The Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018): fit an untrained network to one image.

- :func:`fit` (:mod:`genlab.dip.fit`): one fit; its maths in :class:`FitSettings`, its runtime in
  :class:`Runtime`, its storage in :class:`Storage`.
- :func:`fit_tiles` (:mod:`genlab.dip.windows`): a large image in overlapping windows, blended.
- :mod:`genlab.dip.stopping`: stopping without the clean image (:class:`WMV`, :class:`HeldOut`),
  :func:`make_rule`, and :class:`StopBelow` (time to fit).
- :mod:`genlab.dip.monitor`: the callbacks a fit measures with (average, snapshots, PSNR, ...).
- :mod:`genlab.dip.presets`: the paper's network and settings, defined once; restore's presets.
- :mod:`genlab.dip.memory`: the memory a fit needs. :mod:`genlab.dip.config`: ``genlab restore``'s config.

The networks are in :mod:`genlab.models.dip` and the degradation operators in :mod:`genlab.physics`.
"""
from genlab.dip.fit import DIPObjective, FitResult, FitSettings, Storage, fit, total_variation
from genlab.dip.monitor import Average, ProgressBar, PSNRTrace, RuleStop, Snapshots, TimeBudget, to_image, to_tensor
from genlab.dip.presets import PAPER_FIT, PAPER_NET, PAPER_STEPS, PRESETS, TASKS, Preset
from genlab.dip.runtime import Runtime
from genlab.dip.stopping import RULES, WMV, HeldOut, StopBelow, make_rule
from genlab.dip.windows import TiledResult, fit_tiles, tile_layout

__all__ = ["fit", "FitSettings", "Storage", "Runtime", "FitResult", "DIPObjective", "total_variation",
           "fit_tiles", "tile_layout", "TiledResult", "WMV", "HeldOut", "StopBelow", "make_rule", "RULES",
           "Average", "Snapshots", "PSNRTrace", "RuleStop", "TimeBudget", "ProgressBar", "to_tensor", "to_image",
           "PAPER_NET", "PAPER_FIT", "PAPER_STEPS", "PRESETS", "TASKS", "Preset"]
