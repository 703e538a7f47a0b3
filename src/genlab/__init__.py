"""genlab: a laboratory for how deep networks generalize.

The public API: the training loop and callbacks, the run store, the probes,
the experiment registry, and runs as pandas tables (:func:`load`, :func:`load_runs`).
"""
__version__ = "0.1.0"

from genlab.errors import DivergedError, GenlabError  # noqa: E402


def load(folder):
    """The run at ``folder`` as pandas tables (config, metrics, claims, series); see :mod:`genlab.tidy`."""
    from genlab.tidy import load
    return load(folder)


def load_runs(folder):
    """Every run at or under ``folder`` (a sweep, an atlas) stacked into the same tables with a ``run`` column."""
    from genlab.tidy import load_runs
    return load_runs(folder)


__all__ = ["__version__", "GenlabError", "DivergedError", "load", "load_runs"]
