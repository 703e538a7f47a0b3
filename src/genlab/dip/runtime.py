"""How a Deep Image Prior fit meets the machine: the runtime settings of one fit, and restore's choices of
threads and precision from what :mod:`genlab.runtime` probes (idle cores, bf16 support)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from genlab.runtime import cpu_has_bf16, idle_cores


@dataclass(frozen=True)
class Runtime:
    """Where and how fast a fit runs; none of it changes the maths (bf16 changes the rounding).

    threads: torch intra-op threads (None: torch's). bf16: autocast to bfloat16 on ``device``.
    device: where the network, its input and the observation live ("cpu", "cuda", ...; None: the current
    :func:`genlab.runtime.device`).
    channels_last: the model and its input in channels-last layout. progress: a tqdm bar named ``desc`` on a
    terminal (:class:`~genlab.dip.monitor.ProgressBar`).
    time_budget: stop after this many seconds of fitting (None: no limit). reference: the clean image
    (H, W[, C]) at the output's size, for the bar to show the PSNR of the running average live (the
    output's top-left H x W; read only, it changes nothing the fit computes).
    """

    threads: int | None = None
    bf16: bool = False
    channels_last: bool = False
    device: str | None = None  # None: genlab.runtime.device() (the CPU unless use_device says otherwise)
    progress: bool = False
    desc: str = "restore"
    time_budget: float | None = None
    reference: np.ndarray | None = field(default=None, compare=False, repr=False)


def use_bf16(precision: str, pixels: int, device_type: str = "cpu") -> bool:
    """bf16 where the CPU computes it natively and the image is large enough for it to pay.

    ``auto`` picks bf16 on the CPU only: on a GPU a fit runs in float32 (TF32 off, see
    :func:`genlab.runtime.use_device`) unless ``bf16`` is asked for explicitly."""
    if precision != "auto":
        return precision == "bf16"
    return device_type == "cpu" and pixels >= 128 * 128 and cpu_has_bf16()


def default_threads(pixels: int) -> int:
    """The cores idle now, and 1 for small images.

    Measured on a 2-core machine: with both cores idle, 2 threads ran the
    512x512 default 1.3x faster than 1; shared with other jobs, two OpenMP
    threads competing for busy cores ran 20x slower per step than one, and
    below about 128x128 one thread is faster anyway. The load average lags by
    a minute (a job that just ended still counts), so the idle share of
    ``/proc/stat`` over a quarter second decides, and the load average only
    where that cannot be read.
    """
    n = os.cpu_count() or 1
    if pixels < 128 * 128:
        return 1
    free = idle_cores()
    if free is None:
        try:
            free = n - os.getloadavg()[0]
        except OSError:
            free = float(n)
    return max(1, min(n, int(free + 0.5)))


__all__ = ["Runtime", "use_bf16", "default_threads"]
