"""A guard for the device rule: genlab code says where every tensor it creates lives.

Inside ``with DeviceGuard() as g:``, each call of a torch factory function (``zeros``, ``randn``,
``tensor``, ...) made directly from genlab's own source without a ``device=`` argument is recorded in
``g.violations`` as ``file:line function``. On a CPU-only machine such a call works; on a GPU it
builds a CPU tensor behind the user's back (and fails, or copies every step). Tensors built inside
torch itself (an ``nn.Linear``'s weights) are not genlab's: the model is moved as a whole.
"""
from __future__ import annotations

import sys
from pathlib import Path

from torch.overrides import TorchFunctionMode

import genlab

SRC = str(Path(genlab.__file__).resolve().parent)
FACTORIES = frozenset({"zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange",
                       "linspace", "logspace", "eye", "tensor", "as_tensor", "tril_indices", "triu_indices"})


class DeviceGuard(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in FACTORIES and "device" not in kwargs and getattr(func, "__module__", "") != "torch.Tensor":
            frame = sys._getframe(1)
            while frame is not None and "/torch/" in frame.f_code.co_filename:
                frame = frame.f_back
            if frame is not None and frame.f_code.co_filename.startswith(SRC):
                where = f"{frame.f_code.co_filename[len(SRC) + 1:]}:{frame.f_lineno} {name}"
                if where not in self.violations:
                    self.violations.append(where)
        return func(*args, **kwargs)
