"""The ``genlab`` command: list, run, reproduce, report, runs, export (and restore, sweep); parsing and dispatch only.

The work is in :mod:`genlab.runner` (run, reproduce, report) and :mod:`genlab.report` (what is printed).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import sys
import threading
from pathlib import Path

from genlab.errors import DivergedError, GenlabError, RunFailed
from genlab.export import add_output_arguments
from genlab.io import path_arg
from genlab.parallel import add_backend_arguments, make_backend
from genlab.runtime import add_device_argument

# the default atlas judges every claim on at least this many seeds (issue 13: k of N with N >= 5)
DEFAULT_ATLAS_SEEDS = 5

# Commands that live in their own modules: each has add_arguments(parser) and main(args) -> int.
EXTENSIONS = {
    "restore": ("genlab.restore", "restore an image with the Deep Image Prior"),
    "sweep": ("genlab.sweep", "run an experiment over a grid of config values in local worker processes"),
    "robustness": ("genlab.robustness", "an experiment's verdicts with each free choice varied, one at a time"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage block too)
        message = message.replace(", key=value", "")  # the overrides are optional: only the experiment is required
        sys.stderr.write(f"genlab: error: {message}; see '{self.prog} --help'\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genlab", description="A laboratory for how deep networks generalize.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("list", help="list every experiment")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--family", help="only this family")

    s = sub.add_parser("run", help="run one experiment into a run folder")
    s.add_argument("experiment")
    s.add_argument("--scale", choices=["quick", "default", "paper"], default=None, help="default: default")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="run seeds seed..seed+N-1 into OUT/seed-<s>/ and report each claim as holding in k of N")
    s.add_argument("--out", type=path_arg, default=None, help="run folder (default: a new folder under ./runs); an unfinished one resumes")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    add_device_argument(s)
    add_output_arguments(s)
    s.add_argument("overrides", nargs="*", metavar="key=value", help="override config fields")

    s = sub.add_parser("reproduce", help="run every experiment and write the atlas (report.html, report.md)")
    s.add_argument("--quick", action="store_true", help="quick scale (minutes in all)")
    s.add_argument("--scale", choices=["quick", "default", "paper"], default=None)
    s.add_argument("--only", action="append", default=None, metavar="FAMILY", help="only this family (or experiment id); repeatable")
    s.add_argument("--out", type=path_arg, default=None, help="atlas folder (default: ./atlas-<scale>)")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--compare", type=path_arg, action="append", default=None, metavar="ATLAS",
                   help="another atlas folder (say atlas-quick): its verdicts beside these, a sentence where they differ")
    s.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="judge every claim on at least N seeds: an experiment whose run judges a claim on fewer seeds "
                        "(or folds) inside it also runs seeds seed+1, ... (into OUT/seeds/<id>/); the atlas shows k/N "
                        f"(default: {DEFAULT_ATLAS_SEEDS} at the default scale, 1 at the others)")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="experiments run at once, one core each (default: the number of cores)")
    add_backend_arguments(s)
    s.add_argument("--quiet", action="store_true")
    add_device_argument(s)
    add_output_arguments(s)

    s = sub.add_parser("report", help="redraw figures and claims of finished runs (a run folder or an atlas folder)")
    s.add_argument("folder", type=path_arg)
    s.add_argument("--compare", type=path_arg, action="append", default=None, metavar="ATLAS",
                   help="another atlas folder (say atlas-quick): its verdicts beside these, a sentence where they differ")

    s = sub.add_parser("runs", help="list runs with experiment, scale, seed, status and verdicts")
    s.add_argument("folder", type=path_arg, nargs="?", default=Path("runs"))
    s.add_argument("--format", choices=["table", "csv", "json"], default="table", help="csv and json for scripts")

    s = sub.add_parser("export", help="export runs (or an atlas, a sweep) to TensorBoard or MLflow")
    s.add_argument("folders", type=Path, nargs="+", metavar="RUN_DIR")
    s.add_argument("--to", choices=["tensorboard", "mlflow"], required=True)
    s.add_argument("--dest", default=None,
                   help="TensorBoard log folder (default ./tensorboard); MLflow tracking URI or folder (default "
                        "$MLFLOW_TRACKING_URI or ./mlruns)")

    for name, (mod, help_) in EXTENSIONS.items():
        s = sub.add_parser(name, help=help_)
        try:
            ext = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:  # the extension exists but one of its imports is missing: a real bug
                raise
            s.set_defaults(_missing=mod)
        else:
            ext.add_arguments(s)
    return p


def _quiet(args) -> None:
    if getattr(args, "quiet", False):  # a process-wide switch; genlab.parallel hands it to worker processes
        from genlab.runtime import set_quiet
        set_quiet()


def cmd_list(args) -> int:
    from genlab.report import print_experiments
    print_experiments(args.family, args.json)
    return 0


def cmd_run(args) -> int:
    from genlab.runner import run_command
    _quiet(args)
    if args.seeds is not None:
        from genlab.seeds import seeds_command
        return seeds_command(args)
    run_command(args.experiment, args.scale, args.seed, args.overrides, args.out, tuple(args.report_to or ()),
                args.keep_checkpoints, device=args.device)
    return 0


def cmd_reproduce(args) -> int:
    from genlab.runner import reproduce, select
    from genlab.seeds import check_seeds
    check_seeds(args.seeds)
    scale = args.scale or ("quick" if args.quick else "default")
    ids = select(args.only)
    _quiet(args)
    backend = None if args.backend == "local" and args.address is None else make_backend(args)
    return reproduce(ids, scale, args.out or Path(f"atlas-{scale}"), args.seed, args.workers, backend,
                     report_to=tuple(args.report_to or ()), keep_checkpoints=args.keep_checkpoints,
                     compare=args.compare, device=args.device,
                     seeds=args.seeds or (DEFAULT_ATLAS_SEEDS if scale == "default" else 1))


def cmd_report(args) -> int:
    from genlab.runner import report_command
    report_command(args.folder, args.compare)
    return 0


def cmd_runs(args) -> int:
    from genlab.report import print_runs
    print_runs(args.folder, args.format)
    return 0


def cmd_export(args) -> int:
    from genlab.export import export
    for where in export(args.folders, args.to, args.dest):
        print(f"exported to {args.to}: {where}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; ``key=value`` overrides may come before or after the options."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse binds the nargs="*" overrides to the first run of positionals only,
        # so `run fp-1d --scale quick steps=600` leaves steps=600 over: take it back here.
        if getattr(args, "command", None) == "run" and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _terminate(signum, frame):
    # SIGTERM (a scheduler, a closed terminal) stops like Ctrl-C: the run is marked interrupted.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)  # imports torch: seconds in which a Ctrl-C is likely
    except KeyboardInterrupt:
        print("genlab: interrupted", file=sys.stderr)
        return 130
    in_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    try:
        return _dispatch(args)
    except BrokenPipeError:  # `genlab list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, old)


def _check_paths(args) -> None:
    """Every path option (--out, -o, an input file): one line before anything is made, not an OSError."""
    from genlab.params import check_path
    for name, value in vars(args).items():
        if isinstance(value, Path) or (name == "out" and value is not None):
            check_path("folder" if name == "folder" else f"--{name}", value)


def _dispatch(args) -> int:
    try:
        if getattr(args, "_missing", None):
            raise GenlabError(f"'genlab {args.command}' is not available in this installation ({args._missing} missing)")
        _check_paths(args)
        if getattr(args, "device", None) is not None:  # --device cuda without CUDA: one line, nothing made
            from genlab.runtime import resolve_device
            resolve_device(args.device)
        if args.command in EXTENSIONS:
            return int(importlib.import_module(EXTENSIONS[args.command][0]).main(args) or 0)
        return {"list": cmd_list, "run": cmd_run, "reproduce": cmd_reproduce, "report": cmd_report,
                "runs": cmd_runs, "export": cmd_export}[args.command](args)
    except DivergedError as e:
        print(f"genlab: run stopped: {e}", file=sys.stderr)
        return 1
    except RunFailed as e:
        print(f"genlab: run failed: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno not in (errno.ENAMETOOLONG, errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT):
            raise
        # the file system refused a path or a write that the checks before the run could not foresee
        print(f"genlab: error: {e.filename or ''}: {e.strerror}; choose another path or free space", file=sys.stderr)
        return 2
    except GenlabError as e:  # one line, whatever the message quotes (a name with a newline, say)
        print("genlab: error: " + " ".join(str(e).splitlines()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
