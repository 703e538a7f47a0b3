"""User-facing errors: the CLI prints them as one line and exits with code 2."""


class GenlabError(Exception):
    """A problem with the user's input or environment, stated with its fix.

    The message is one line naming the problem and, where there is one, the
    valid choices or the fix. The CLI prints ``genlab: error: <message>``.
    """


class DivergedError(GenlabError):
    """Training produced a non-finite loss; the run records the reason."""


def need(module: str, extra: str):
    """Import an optional dependency, or fail in one line naming the extra that installs it."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise GenlabError(f"this needs {module.split('.')[0]}, which is not installed: pip install 'genlab[{extra}]'") from None


class RunFailed(Exception):
    """A run stopped for a reason other than bad input (a bug); status.json records why. Exit code 1."""
