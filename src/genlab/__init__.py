"""genlab: a laboratory for how deep networks generalize.

The public API: the training loop and callbacks, the run store, the probes,
and the experiment registry.
"""
__version__ = "0.1.0"

from genlab.errors import DivergedError, GenlabError  # noqa: E402

__all__ = ["__version__", "GenlabError", "DivergedError"]
