"""The ``genlab`` command: list, run, reproduce, report, runs (and restore, sweep)."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from genlab.errors import DivergedError, GenlabError

# Commands that live in their own modules: each has add_arguments(parser) and main(args) -> int.
EXTENSIONS = {
    "restore": ("genlab.restore", "restore an image with the Deep Image Prior"),
    "sweep": ("genlab.sweep", "run an experiment over a grid of config values in local worker processes"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage block too)
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
    s.add_argument("--out", type=Path, default=None, help="run folder (default: a new folder under ./runs); an unfinished one resumes")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.add_argument("overrides", nargs="*", metavar="key=value", help="override config fields")

    s = sub.add_parser("reproduce", help="run every experiment and write the atlas (report.html, report.md)")
    s.add_argument("--quick", action="store_true", help="quick scale (minutes in all)")
    s.add_argument("--scale", choices=["quick", "default", "paper"], default=None)
    s.add_argument("--only", action="append", default=None, metavar="FAMILY", help="only this family (or experiment id); repeatable")
    s.add_argument("--out", type=Path, default=None, help="atlas folder (default: ./atlas-<scale>)")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="experiments run at once, one core each (default: the number of cores)")
    s.add_argument("--quiet", action="store_true")

    s = sub.add_parser("report", help="redraw figures and claims of finished runs (a run folder or an atlas folder)")
    s.add_argument("folder", type=Path)

    s = sub.add_parser("runs", help="list runs with experiment, scale, seed, status and verdicts")
    s.add_argument("folder", type=Path, nargs="?", default=Path("runs"))

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


def cmd_list(args) -> int:
    from genlab.experiments import registry
    exps = [e for e in registry().values() if not args.family or e.family == args.family]
    if not exps and args.family:
        fams = list(dict.fromkeys(e.family for e in registry().values()))
        raise GenlabError(f"unknown family '{args.family}'; choose one of: {', '.join(fams)}")
    if args.json:
        print(json.dumps([e.describe() for e in exps], indent=2))
        return 0
    fam = None
    for e in exps:
        if e.family != fam:
            fam = e.family
            print(f"\n{fam}")
        t = ", ".join(f"{k} {v}" for k, v in e.times.items())
        print(f"  {e.id:<22} {e.source}\n  {'':<22} {e.claim}\n  {'':<22} time: {t}")
    return 0


def cmd_run(args) -> int:
    from genlab.experiments import get
    from genlab.runner import execute
    exp = get(args.experiment)
    scale = args.scale or "default"
    if args.out is not None and (args.out / "config.json").exists() and args.scale is None and args.seed is None and not args.overrides:
        stored = json.loads((args.out / "config.json").read_text())
        if stored.get("experiment") == exp.id:  # resume exactly what is there
            scale = stored.get("scale", scale)
            cfg = exp.config.from_dict(stored["config"])
        else:
            raise GenlabError(f"{args.out} holds a run of {stored.get('experiment')}, not {exp.id}; choose another --out")
    else:
        cfg = exp.config_for(scale, args.seed, args.overrides)
    if args.out is not None:
        from genlab.io import check_writable
        check_writable(args.out, keep=False)  # before saying "running": a bad --out is the only line printed
    _progress(args)
    t0 = time.perf_counter()
    print(f"genlab: running {exp.id} ({scale}, seed {cfg.seed})", file=sys.stderr)
    run = execute(exp, cfg, args.out, scale=scale)
    _print_claims(run, time.perf_counter() - t0)
    return 0


def _progress(args):
    if getattr(args, "quiet", False):
        from genlab.runtime import set_quiet
        set_quiet()


def _print_claims(run, seconds=None) -> None:
    extra = f" in {seconds:.1f} s" if seconds is not None else ""
    print(f"run folder: {run.path}{extra}")
    for c in run.claims:
        v = c["value"]
        v = f"{v:.4g}" if isinstance(v, float) else v
        print(f"  [{c['verdict']:>12}] {c['id']}: measured {v} (threshold {c['threshold']})")


def cmd_reproduce(args) -> int:
    from genlab.experiments import registry
    from genlab.report import write_atlas
    from genlab.io import check_writable
    from genlab.runs import Run
    scale = args.scale or ("quick" if args.quick else "default")
    exps = list(registry().values())
    if args.only:
        known = {e.family for e in exps} | {e.id for e in exps}
        bad = [o for o in args.only if o not in known]
        if bad:
            raise GenlabError(f"unknown family or experiment {bad[0]!r}; choose a family ({', '.join(dict.fromkeys(e.family for e in exps))}) "
                              "or an experiment id (see genlab list)")
        exps = [e for e in exps if e.family in args.only or e.id in args.only]
    out = args.out or Path(f"atlas-{scale}")
    check_writable(out)
    _progress(args)
    dirs, todo, t_all = [], [], time.time()
    for i, e in enumerate(exps, 1):
        folder = out / "runs" / e.id
        dirs.append(folder)
        if Run(folder).status.get("status") == "complete":
            print(f"[{i}/{len(exps)}] {e.id}: already complete, kept", file=sys.stderr)
        else:
            todo.append((i, len(exps), e.id, scale, args.seed, str(folder), t_all))
    workers = max(1, min(args.workers, len(todo)))
    if workers > 1:  # experiments use one intra-op thread each: one per core
        from genlab.parallel import parallel_map
        ok = parallel_map(_reproduce_one, todo, workers=workers, threads=1, progress=False)
    else:
        ok = [_reproduce_one(t) for t in todo]
    failures = ok.count(False)
    t_all = time.time() - t_all
    md, html = write_atlas(dirs, out, title=f"genlab atlas ({scale})")
    print(f"atlas: {html} and {md} ({t_all:.0f} s)")
    return 1 if failures else 0


def _reproduce_one(task) -> bool:
    """One experiment of ``reproduce`` (in-process or in a worker); False if it broke."""
    from genlab.experiments import get
    from genlab.runner import execute
    i, n, exp_id, scale, seed, folder, t_start = task
    e = get(exp_id)
    print(f"[{i}/{n}] {e.id} ({scale}, expected {e.times.get(scale, '?')}; "
          f"{time.time() - t_start:.0f} s elapsed so far) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        run = execute(e, e.config_for(scale, seed), Path(folder), scale=scale)
    except Exception as err:  # one broken experiment (or missing data set) must not stop the atlas
        print(f"[{i}/{n}] {e.id}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        return False
    v = [c["verdict"] for c in run.claims]
    print(f"[{i}/{n}] {e.id}: done in {time.perf_counter() - t0:.0f} s; {v.count('holds')} hold, "
          f"{v.count('fails')} fail, {v.count('inconclusive')} inconclusive", file=sys.stderr, flush=True)
    return True


def cmd_report(args) -> int:
    from genlab.report import write_atlas
    from genlab.runner import redraw
    from genlab.runs import Run
    folder = args.folder
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give a run folder or an atlas folder")
    if (folder / "runs").is_dir() and not (folder / "config.json").exists():
        dirs = sorted(d for d in (folder / "runs").iterdir() if (d / "config.json").exists())
        for d in dirs:
            if Run(d).status.get("status") == "complete":
                redraw(d)
        scales = {Run(d).config.get("scale") for d in dirs}
        title = f"genlab atlas ({scales.pop()})" if len(scales) == 1 else "genlab atlas"
        md, html = write_atlas(dirs, folder, title=title)
        print(f"atlas: {html} and {md}")
        return 0
    redraw(folder)
    _print_claims(Run(folder))
    return 0


def find_runs(folder: Path) -> list[Path]:
    if (folder / "config.json").exists():
        return [folder]
    return sorted({p.parent for depth in ("*", "*/*", "*/*/*") for p in folder.glob(f"{depth}/config.json")})


def cmd_runs(args) -> int:
    from genlab.runs import Run
    if not args.folder.exists():
        raise GenlabError(f"{args.folder} does not exist; give the folder that holds your runs (default ./runs)")
    dirs = find_runs(args.folder)
    if not dirs:
        print(f"no runs under {args.folder}")
        return 0
    print(f"{'experiment':<22} {'scale':<8} {'seed':>4} {'status':<12} {'verdicts':<22} folder")
    for d in dirs:
        r = Run(d)
        try:
            c = r.config
        except (GenlabError, ValueError):
            continue
        v = [x["verdict"] for x in r.claims]
        vs = f"{v.count('holds')} hold, {v.count('fails')} fail" + (f", {v.count('inconclusive')} inc" if v.count("inconclusive") else "") if v else "-"
        print(f"{c.get('experiment', '?'):<22} {c.get('scale', '?'):<8} {c['config'].get('seed', '?'):>4} "
              f"{r.status.get('status', '?'):<12} {vs:<22} {d}")
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
    args = parse(argv)
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


def _dispatch(args) -> int:
    try:
        if getattr(args, "_missing", None):
            raise GenlabError(f"'genlab {args.command}' is not available in this installation ({args._missing} missing)")
        if args.command in EXTENSIONS:
            return int(importlib.import_module(EXTENSIONS[args.command][0]).main(args) or 0)
        return {"list": cmd_list, "run": cmd_run, "reproduce": cmd_reproduce, "report": cmd_report,
                "runs": cmd_runs}[args.command](args)
    except DivergedError as e:
        print(f"genlab: run stopped: {e}", file=sys.stderr)
        return 1
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
