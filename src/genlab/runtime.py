"""Where genlab meets the machine: threads, allocator, idle cores, memory, bf16, progress.

Lower layers (the loop, probes, the DIP fit, data loaders) import these helpers
from here, never from the training loop or the run store.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np
import torch

_ALLOCATOR_TUNED: set[str] = set()


def tune_allocator(large_buffers: bool = False) -> bool:
    """Keep freed memory in the process instead of returning it to the OS (glibc only; once).

    A step allocates and frees the same large activations over and over. glibc
    serves blocks above 128 KiB with mmap and trims the heap on free, so every
    step pays fresh page faults; a stacked ensemble's (M, N, width) activations
    are megabytes. Raising the mmap and trim thresholds cut the CPU time per
    step of 64 fp-1d networks by about a fifth (benchmarks/RESULTS.md).

    large_buffers: also send blocks above the mmap threshold's 32 MiB ceiling
    through the heap (M_MMAP_MAX=0) and bound the arenas (M_ARENA_MAX=2): conv
    nets on large images (the DIP at 512x512 has 134 MB activations) then stop
    page-faulting every iteration (1.4x per step measured), at the price of a
    higher peak. ``genlab restore`` asks for it. Called by :func:`train`;
    ``GENLAB_MALLOC=0`` leaves the allocator alone.
    """
    mode = "large" if large_buffers else "default"
    if os.environ.get("GENLAB_MALLOC", "1") == "0":
        return False
    if mode in _ALLOCATOR_TUNED or "large" in _ALLOCATOR_TUNED:
        return True
    _ALLOCATOR_TUNED.add(mode)
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -2, -3, -4, -8
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)          # glibc's maximum on 64-bit
        ok &= libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1 if large_buffers else 1 << 30)
        ok &= libc.mallopt(M_TOP_PAD, 64 << 20)
        if large_buffers:
            ok &= libc.mallopt(M_MMAP_MAX, 0) & libc.mallopt(M_ARENA_MAX, 2)
        return bool(ok)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return False


_QUIET = False


def set_quiet(quiet: bool = True) -> None:
    """Turn progress bars off in this process (``genlab --quiet``); :mod:`genlab.parallel` passes it to workers."""
    global _QUIET
    _QUIET = bool(quiet)


def is_quiet() -> bool:
    return _QUIET


def progress_disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for a ``progress`` setting: None means a bar on a TTY only.

    Off when :func:`set_quiet` was called or ``TQDM_DISABLE=1`` is set (CI sets
    it); the variable is read here, at call time, because tqdm reads it only at
    import and an explicit ``disable`` argument overrides it anyway.
    """
    if progress is not None:
        return not progress
    if _QUIET or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes", "on"):
        return True
    return None


@contextlib.contextmanager
def num_threads(n: int | None):
    """Set torch's intra-op threads for a workload, then restore them."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def available_memory() -> int:
    """Bytes of memory available now: MemAvailable from /proc/meminfo (else the free physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def idle_cores(window: float = 0.25) -> float | None:
    """Cores idle right now: the idle share of ``/proc/stat`` over ``window`` seconds (None where unreadable)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + (v[4] if len(v) > 4 else 0), sum(v)
    try:
        i0, t0 = sample()
        time.sleep(window)
        i1, t1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (os.cpu_count() or 1) * (i1 - i0) / max(1, t1 - t0)


def cpu_has_bf16() -> bool:
    """True on CPUs that compute bf16 natively (AVX512-BF16 or AMX), where oneDNN's bf16 autocast pays."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


# -- devices ---------------------------------------------------------------------------------------------------
DEVICES = ("auto", "cpu", "cuda", "mps")
_DEVICE = torch.device("cpu")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The device a ``--device`` value names: ``auto`` takes CUDA when present, then MPS, else the CPU.

    ``cuda:1`` picks a card. A device this machine does not have is bad input (one line, exit 2).
    """
    from genlab.errors import GenlabError
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or "auto").strip().lower()
    kind = spec.split(":")[0]
    if kind not in DEVICES:
        raise GenlabError(f"device={spec}: unknown device; choose one of {', '.join(DEVICES)} (cuda:N for a card)")
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise GenlabError(f"device={spec}: not a device name; give auto, cpu, cuda, cuda:N or mps") from None
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise GenlabError(f"device={spec}: this machine has no CUDA device torch can use; "
                              "give --device cpu (or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GenlabError(f"device={spec}: only {torch.cuda.device_count()} CUDA device(s) here; "
                              f"give cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        return dev
    if kind == "mps" and not has_mps:
        raise GenlabError(f"device={spec}: this machine has no MPS (Apple GPU) device; give --device cpu (or auto)")
    return dev


def add_device_argument(p) -> None:
    """``--device auto|cpu|cuda|mps`` (run, reproduce, sweep, restore); checked by :func:`resolve_device`
    before anything is written."""
    p.add_argument("--device", default="auto", metavar="DEVICE",
                   help="auto (CUDA, else MPS, else the CPU), cpu, cuda (cuda:N for a card) or mps; default auto")


def device() -> torch.device:
    """The device experiments build their models and data on (set by :func:`use_device`; the CPU otherwise)."""
    return _DEVICE


@contextlib.contextmanager
def use_device(spec: str | torch.device | None):
    """Run the enclosed work on ``spec`` (resolved by :func:`resolve_device`): :func:`device` returns it.

    On CUDA, TF32 matmuls are switched off for reproducibility (float32 means float32 on every device).
    """
    global _DEVICE
    old = _DEVICE
    _DEVICE = resolve_device(spec)
    if _DEVICE.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    try:
        yield _DEVICE
    finally:
        _DEVICE = old


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter (or buffer): where its probes compute; :func:`device` if it has
    none (or is a plain function, which a probe may be given too)."""
    if not isinstance(model, torch.nn.Module):
        return _DEVICE
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return _DEVICE


def as_tensor(x, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """``x`` (a tensor, or anything ``numpy.asarray`` takes) as a tensor on ``device``: by default a tensor
    stays where it is and anything else goes to :func:`device` (never to the CPU behind the caller's back)."""
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x)
    elif device is None:
        device = x.device
    return torch.as_tensor(x, dtype=dtype, device=_DEVICE if device is None else device)


def follow(t: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """``t`` on ``model``'s device (:func:`model_device`): a probe's data follow the model it measures
    (a plain function given as the model leaves ``t`` where it is)."""
    if not isinstance(model, torch.nn.Module):
        return t
    dev = model_device(model)
    return t if t.device == dev else t.to(dev)


def device_info(dev: torch.device | None = None) -> dict:
    """What env.json records about a device: its type, name and the determinism settings in force."""
    dev = dev or _DEVICE
    info: dict = {"device": str(dev)}
    if dev.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(dev)
        info["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
        info["tf32_cudnn"] = bool(torch.backends.cudnn.allow_tf32)
        info["cudnn_deterministic"] = bool(torch.backends.cudnn.deterministic)
        info["cudnn_benchmark"] = bool(torch.backends.cudnn.benchmark)
    elif dev.type == "mps":
        info["device_name"] = "Apple MPS"
    else:
        import platform
        try:  # "Intel(R) Xeon(R) ..." where /proc/cpuinfo says it; else what the platform module knows
            model = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                         if ln.startswith("model name"))
        except (OSError, StopIteration):
            model = ""
        info["device_name"] = model or platform.processor() or platform.machine()
    info["deterministic_algorithms"] = bool(torch.are_deterministic_algorithms_enabled())
    return info


__all__ = ["tune_allocator", "progress_disabled", "num_threads", "available_memory", "idle_cores", "cpu_has_bf16",
           "set_quiet", "is_quiet", "DEVICES", "add_device_argument", "resolve_device", "device", "use_device", "device_info",
           "model_device", "as_tensor", "follow"]
