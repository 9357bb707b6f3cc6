"""The ``simulation`` command line.

Only the standard library is imported here: numpy, pandas, Mesa, numba, matplotlib and the
model are imported inside the command functions, so that ``simulation --help`` (and a bad
command line) answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from pathlib import Path

from simulation import __version__

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # holds configs/ and docs/ in a source checkout


class UsageError(Exception):
    """A bad command line (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2), no abbreviated flags, examples kept as written."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # `sweep --seed 3` must not run as `--seeds 3`
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(f"{self.prog}: {message}")


def printable(text: str) -> str:
    """``text`` on one line (as ``simulation.config.errors.printable``, without importing pydantic)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _seed(text: str) -> int:
    value = _nonneg_int(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be below 2**63: {text}")
    return value


def _port(text: str) -> int:
    value = _nonneg_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text}")
    return value


# ------------------------------------------------------------------- the parser

EPILOGS = {
    "main": """examples:
  simulation run                                    # the default scenario (japan_2026), 156 weeks
  simulation run korea_coerced --strategy stockpile_100
  simulation sweep configs/experiments/korea_strategies.toml --dry-run
  simulation validate --out runs/validation
  simulation COMMAND --help                         # the flags and examples of one command""",
    "run": """examples:
  simulation run                                     # configs/scenarios/japan_2026.toml
  simulation run korea_coerced --strategy stockpile_100
  simulation run --seed 7 --steps 52 --out runs/short
  simulation run runs/short/config.toml --out runs/short-again   # reproduces runs/short exactly

A scenario is a file or a name in configs/scenarios/; a strategy a name in configs/strategies/ or a file.""",
    "view": """examples:
  simulation view                                    # then open http://127.0.0.1:8765/
  simulation view korea_coerced --port 8800 --steps 104
  simulation view korea_coerced --strategy stockpile_100    # drawn beside the baseline
  simulation view korea_coerced --strategy stockpile_100 --seed 7
  simulation view --host 0.0.0.0 --allow-remote      # reachable from other machines: no login!""",
    "sweep": """examples:
  simulation sweep configs/experiments/korea_strategies.toml --dry-run   # runs and time, nothing run
  simulation sweep configs/experiments/korea_strategies.toml --workers 2
  simulation sweep korea_strategies --seeds 2 --seed 7 --steps 52 --out runs/quick
  simulation sweep korea_strategies --resume          # continue the latest runs/korea_strategies-*/
  simulation sweep korea_strategies --design sobol --samples 8 --seeds 2

--seed is the root seed every run's seed is derived from (the file's `seed`); --seeds the number
of replicates (the file's `seeds`). An experiment is a file or a name in configs/experiments/.""",
    "compare": """examples:
  simulation compare runs/korea_strategies-20260302T120000   # a sweep: rewrites its report.md and figures
  simulation compare runs/korea_coerced-baseline-20260302T120000 runs/korea_coerced-stockpile_100-20260302T121500
  simulation compare RUN_A RUN_B --out runs/stockpile-vs-baseline   # comparison.md, comparison.csv, figures/

One sweep directory: its report is rebuilt in place. Two run directories (A, then B): a table of
headline outcomes per country (loss, jobs, shortage, binding commodity, loss by commodity) with
B - A, whether the runs are comparable like for like (same scenario, world, seed and weeks), and
figures, written to --out (default runs/compare-<A>-vs-<B>-<time>).""",
    "sensitivity": """examples:
  simulation sweep sensitivity_japan --workers 2 --out runs/sens-japan
  simulation sweep sensitivity_korea --workers 2 --out runs/sens-korea
  simulation sensitivity runs/sens-japan runs/sens-korea --out runs/sensitivity.md
  simulation sensitivity runs/sens-japan runs/sens-korea --docs   # the project's docs/sensitivity.md

Reads each Morris sweep's morris.csv and the uncertainty catalogue (configs/uncertainties.toml):
the most influential parameters, by outcome, with the quality of their evidence.""",
    "validate": """examples:
  simulation validate                                # report in runs/validate-<time>/calibration.md
  simulation validate --seeds 5 --out runs/validation
  simulation validate --docs                         # the project's docs/calibration.md (shipped)
  simulation validate --test-seeds 2                 # fewer seeds for the test set's long episodes

Prints the fit set (the calibration cases) and the test set (configs/validation/: episodes of the
record that calibration never reads, reported pass / fail / not expressible). Exit code 1 only when
a fit-set figure is missed by more than 25%.""",
    "calibrate": """examples:
  simulation calibrate                               # proposes profiles in runs/calibrate-<time>/
  simulation calibrate --out runs/refit              # then compare with configs/calibration/profiles/
  simulation calibrate --write                       # replaces the shipped fitted profiles

Fits the fit set only (configs/calibration/; the test set in configs/validation/ is refused).
The shipped scenarios include the whole adaptive profile (configs/calibration/profiles/adaptive.toml,
its settings and fitted values): after --write, run `simulation validate --docs` and regenerate the
regression baseline.""",
}


def build_parser() -> Parser:
    p = Parser(prog="simulation", epilog=EPILOGS["main"],
               description="coercion-sim: an agent-based model of economic coercion through export controls.")
    p.add_argument("--version", action="version", version=f"simulation (coercion-sim) {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    def command(name: str, text: str) -> Parser:
        return sub.add_parser(name, help=text, description=text, epilog=EPILOGS[name], allow_abbrev=False)

    _run_parser(command("run", "run one scenario and write a run directory"))
    _view_parser(command("view", "serve the browser view (Mesa controls, vega-lite charts) on this machine, offline"))
    _sweep_parser(command("sweep", "run an experiment: scenarios x strategies x uncertainties x seeds"))
    cp = command("compare", "compare two runs (RUN_A RUN_B), or (re)build a sweep's report (SWEEP_DIR)")
    cp.usage = "%(prog)s [-h] SWEEP_DIR\n       %(prog)s [-h] RUN_A RUN_B [--out DIR] [--no-figures]"
    cp.add_argument("dirs", type=Path, nargs="+", metavar="DIR",
                    help="one sweep directory (its report is rewritten in it), or two run directories (A, then B)")
    cp.add_argument("--out", type=Path,
                    help="with two runs: the comparison's folder (default runs/compare-<A>-vs-<B>-<time>)")
    cp.add_argument("--no-figures", action="store_true", help="with two runs: skip figures/*.png")
    se = command("sensitivity", "the most influential parameters, from Morris sweeps, with their evidence")
    se.add_argument("dirs", type=Path, nargs="+", metavar="SWEEP_DIR", help="Morris sweep directories")
    se.add_argument("--catalogue", type=Path, default=PROJECT_ROOT / "configs" / "uncertainties.toml",
                    help="the uncertainty catalogue (default configs/uncertainties.toml)")
    where = se.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path,
                       help="the document to write (default runs/sensitivity-<time>/sensitivity.md)")
    where.add_argument("--docs", action="store_true", help="write the project's docs/sensitivity.md")
    _validate_parser(command("validate", "run the calibration cases; published figures beside the model's"))
    _calibrate_parser(command("calibrate", "refit the calibration profiles; propose them, or --write them"))
    return p


def _run_parser(r: Parser) -> None:
    r.add_argument("config", nargs="?", default=None,
                   help="scenario name or file, or a resolved config (default japan_2026)")
    r.add_argument("--seed", type=_nonneg_int, help="override run.seed")
    r.add_argument("--steps", type=_positive_int, help="weeks to run (<= horizon)")
    r.add_argument("--strategy", help="strategy name (configs/strategies/NAME.toml) or file")
    r.add_argument("--out", type=Path, help="run directory (default runs/<scenario>-<strategy>-<time>)")
    r.add_argument("--no-figures", action="store_true", help="skip figures/*.png")


def _view_parser(v: Parser) -> None:
    v.add_argument("config", nargs="?", default=None,
                   help="scenario name or file the page starts with (default japan_2026)")
    v.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0: any free port)")
    v.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1); a non-loopback one needs --allow-remote")
    v.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other machines can reach (the view has no login)")
    v.add_argument("--steps", type=_positive_int, help="weeks to run (<= horizon)")
    v.add_argument("--strategy", help="strategy the page starts with (default: the scenario's)")
    v.add_argument("--seed", type=_nonneg_int, help="seed the page starts with (default: the scenario's)")
    v.add_argument("--compare", help="strategy drawn beside it on the same scenario and seed "
                                     "(default baseline; 'none': no comparison)")


def _sweep_parser(sw: Parser) -> None:
    sw.add_argument("experiment", help="experiment name or file (e.g. configs/experiments/korea_strategies.toml)")
    sw.add_argument("--out", type=Path, help="sweep directory (default runs/<experiment>-<time>)")
    sw.add_argument("--seed", type=_seed, help="override seed: the root seed of every run's seed")
    sw.add_argument("--seeds", type=_positive_int, help="override seeds: replicates per sample")
    sw.add_argument("--steps", type=_positive_int, help="override steps: weeks per run (<= horizon)")
    sw.add_argument("--design", choices=["none", "grid", "lhs", "sobol", "morris"], help="override design.method")
    sw.add_argument("--samples", type=_positive_int, help="override design.samples")
    sw.add_argument("--dry-run", action="store_true",
                    help="print the number of runs and a time estimate; run and write nothing")
    sw.add_argument("--workers", type=_positive_int, help="local worker processes (default: CPU count)")
    sw.add_argument("--scheduler", metavar="ADDRESS|local",
                    help="run on Dask: tcp://HOST:PORT of a scheduler, or 'local' for a LocalCluster")
    sw.add_argument("--resume", action="store_true", help="continue the sweep in --out (default: the latest)")
    sw.add_argument("--retry-failed", action="store_true", help="with --resume, rerun the failed runs too")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")


def _validate_parser(va: Parser) -> None:
    va.add_argument("--seeds", type=_positive_int, default=20, help="seeds per fit-set case (default 20)")
    va.add_argument("--test-seeds", type=_positive_int,
                    help="seeds per test-set episode (default: each episode's own, configs/validation/cases.toml)")
    where = va.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path,
                       help="folder for calibration.md and calibration.png (default runs/validate-<time>)")
    where.add_argument("--docs", action="store_true",
                       help=f"write the project's docs/calibration.md ({PROJECT_ROOT / 'docs'})")
    where.add_argument("--report", type=Path, help="write the report to this file (its figure beside it)")


def _calibrate_parser(ca: Parser) -> None:
    ca.add_argument("--seeds", type=_positive_int, default=4, help="fit seeds per case (default 4: seeds 1-4)")
    where = ca.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path,
                       help="folder for the proposed <profile>_fitted.toml (default runs/calibrate-<time>)")
    where.add_argument("--write", action="store_true",
                       help="replace the shipped fitted profiles in configs/calibration/profiles/")


# ------------------------------------------------------------ names of config files


def _config_dirs(kind: str) -> list[Path]:
    """``configs/<kind>/`` here, then the project's (as the config loader looks them up)."""
    dirs = [Path.cwd() / "configs" / kind, PROJECT_ROOT / "configs" / kind]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in [e.resolve() for e in dirs[:i]]]


def _known(kind: str) -> list[str]:
    return sorted({p.stem for d in _config_dirs(kind) for p in d.glob("*.toml")})


def _unknown(what: str, kind: str, name: str) -> str:
    """``unknown scenario 'x': did you mean 'y'? (scenarios: a, b, ...)`` on one line."""
    known = _known(kind)
    close = difflib.get_close_matches(Path(name).stem if name.endswith(".toml") else name, known, n=1)
    hint = f": did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} {printable(repr(name))}{hint} ({kind}: {', '.join(known) or 'none found'})"


def _is_name(ref: str) -> bool:
    return "/" not in ref and os.sep not in ref and not ref.endswith(".toml")


def resolve_named(ref: str | None, what: str, kind: str, command: str) -> str | None:
    """A file as given, or a name (``korea_coerced``) as ``configs/<kind>/<name>.toml``.

    An unknown name is a usage error with 'did you mean' and the names there; so is a missing
    file whose name is close to one of them. Any other missing file is left to the loader."""
    if ref is None or Path(ref).is_file():
        return ref
    if _is_name(ref):
        for folder in _config_dirs(kind):
            if (folder / f"{ref}.toml").is_file():
                return str(folder / f"{ref}.toml")
        raise UsageError(f"simulation {command}: {what}: {_unknown(what, kind, ref)}")
    if difflib.get_close_matches(Path(ref).stem, _known(kind), n=1):
        raise UsageError(f"simulation {command}: {what}: file not found; {_unknown(what, kind, ref)}")
    return ref


def check_strategy(name: str | None, config: str | None, command: str, flag: str = "--strategy") -> None:
    """An unknown ``--strategy`` (or ``flag``) is a usage error with 'did you mean' and the strategies' names."""
    from simulation.config import find_strategy

    if name is not None and find_strategy(name, Path(config) if config else None) is None:
        raise UsageError(f"simulation {command}: {flag}: {_unknown('strategy', 'strategies', name)}")


# --------------------------------------------------------------------- commands


def _fmt(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def print_summary(summary: dict, run_dir: Path | None, wall: float, names: dict[str, str] | None = None) -> None:
    """The run's summary table, then each country's loss by cause (the binding commodity first).

    Args:
        names: commodity id (and ``trade_ban``) -> full name, as ``cmd_run`` makes it; ids if None.
    """
    names = names or {}
    esc = summary["escalation"]
    print(f"scenario {summary['scenario']}  strategy {summary['strategy']}  seed {summary['seed']}  "
          f"weeks {summary['steps']}  ({wall:.1f} s)")
    print(f"escalation: peak level {esc['peak_level']} ({esc['peak_stage']}) after "
          f"{esc['weeks_to_peak']} weeks; conceded: {'yes' if esc['conceded'] else 'no'}")
    target = summary["target"]
    head = (f"{'country':8} {'cum loss':>18} {'% GDP':>8} {'peak jobs':>10} {'peak short':>10} {'wks short':>9}  "
            f"binding commodity")
    print(head)
    print("-" * len(head))
    shown = [c for c in summary["countries"] if c == target or c in ("JP", "KR", "US", "EU", "CN")]
    for c in shown:
        row = summary["countries"][c]
        mark = "*" if c == target else " "
        loss = f"{_fmt(row['cum_output_loss'])} {row['currency']}"
        binding = row.get("binding_commodity")
        print(f"{c + mark:8} {loss:>18} {row['cum_output_loss_pct_gdp']:8.3f} "
              f"{row['peak_jobs_lost']:10,.0f} {row['peak_shortage_share']:10.2%} "
              f"{row['weeks_in_shortage']:9d}  {names.get(binding, binding) if binding else '-'}")
    causes = {c: summary["countries"][c]["cum_output_loss_pct_gdp_by_commodity"] for c in shown}
    if any(causes.values()):
        print("loss by the commodity whose shortage caused it, % of GDP (largest first):")
        for c, by_com in causes.items():
            if by_com:
                text = ", ".join(f"{names.get(com, com)} {pct:.3f}" for com, pct in list(by_com.items())[:4])
                print(f"  {c + ('*' if c == target else ' '):4} {text}")
    if run_dir is not None:
        print(f"run directory: {run_dir}")


def _check_out(out: Path, command: str, existing: bool = False) -> None:
    """Refuse an output folder that cannot be written, before anything is computed (one line)."""
    from simulation.runner import output_dir_problem

    problem = output_dir_problem(out, existing=existing)
    if problem is not None:
        raise UsageError(f"simulation {command}: --out: {problem}")


def cmd_run(args) -> int:
    from simulation.config import load_config
    from simulation.display import NON_MINERAL, commodity_name
    from simulation.runner import default_run_dir, run, write_run

    config_path = resolve_named(args.config, "scenario", "scenarios", "run")
    check_strategy(args.strategy, config_path, "run")
    config = load_config(config_path, seed=args.seed, steps=args.steps, strategy=args.strategy)
    out = args.out if args.out is not None else default_run_dir(config)
    _check_out(out, "run")
    results = run(config)
    path = write_run(results, out, figures=not args.no_figures)
    names = {k: commodity_name(v.label) for k, v in config.world.commodities.items()} | {"trade_ban": NON_MINERAL}
    print_summary(results.summary, path, results.wall_time_s, names)
    return 0


def cmd_view(args) -> int:
    from simulation.config import load_config
    from simulation.viz.server import ViewError, serve  # solara is imported only by the server

    config_path = resolve_named(args.config, "scenario", "scenarios", "view")
    check_strategy(args.strategy, config_path, "view")
    if args.compare != "none":
        check_strategy(args.compare, config_path, "view", "--compare")
    load_config(config_path, steps=args.steps, strategy=args.strategy, seed=args.seed)  # a bad config stops here
    try:
        serve(config_path, host=args.host, port=args.port, steps=args.steps, allow_remote=args.allow_remote,
              strategy=args.strategy, compare=args.compare, seed=args.seed)
    except ViewError as exc:  # a refused host, a busy or forbidden port: before the server starts
        raise UsageError(f"simulation view: {exc}") from None
    return 0


def load_sweep_experiment(args):
    """The experiment file with the command line's overrides (``--seed``, ``--seeds``, ``--steps``,
    ``--design``, ``--samples``), checked against its scenarios as ``load_experiment`` checks it."""
    from simulation.config import ConfigError, load_config
    from simulation.sweep.experiment import _check_against_scenarios, load_experiment

    path = resolve_named(args.experiment, "experiment", "experiments", "sweep")
    exp = load_experiment(path, method=args.design, samples=args.samples, seeds=args.seeds, check=False)
    if args.seed is not None:
        exp.seed = args.seed  # the root seed (validated on assignment)
    if args.steps is not None:
        for scenario in exp.scenarios:
            try:
                load_config(scenario, steps=args.steps, params=dict(exp.params))
            except ConfigError as exc:
                raise UsageError(f"simulation sweep: --steps {args.steps}: {exc.problem} "
                                 f"({exp.scenario_label(scenario)})") from None
        exp.steps = args.steps
    _check_against_scenarios(exp, str(path))  # what load_experiment(check=True) checks, with the overrides
    return exp


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60):02d} min"


def time_one_run(scenario: str, strategy: str, params: dict, steps: int) -> tuple[float, float, int]:
    """``(seconds to build and finish a run, seconds per week, weeks timed)``: from the faster of two
    1-week runs and of two short (at most 26-week) runs of ``scenario``, after one untimed run that
    loads the compiled kernels. Nothing is written (``runner.run`` returns the tables, writes no file)."""
    from simulation.config import load_config
    from simulation.runner import run

    def timed(weeks: int) -> float:
        cfg = load_config(scenario, steps=weeks, strategy=strategy, params=params)
        t0 = time.perf_counter()
        run(cfg)
        return time.perf_counter() - t0

    timed(1)  # loads (or, the first time on this machine, compiles) the kernels
    one = min(timed(1), timed(1))
    weeks = min(steps, 26)
    if weeks < 2:
        return one, 0.0, 1
    per_week = max((min(timed(weeks), timed(weeks)) - one) / (weeks - 1), 0.0)
    return max(one - per_week, 0.0), per_week, weeks


def dry_run(exp, args) -> int:
    """Print the number of runs and a time estimate; run nothing of the sweep, write nothing."""
    from simulation.config import load_config

    per = "1 seed per sample (matched)" if exp.design.matched else f"{exp.seeds:,} seed(s)"
    print(f"{exp.name}: {exp.n_runs:,} runs = {len(exp.scenarios)} scenario(s) x {len(exp.strategies)} "
          f"strategies x {exp.n_samples:,} sample(s) x {per}")
    if args.resume:
        print("(every run of the design: --resume runs only those not done yet)")
    params = dict(exp.params)
    weeks = [load_config(s, steps=exp.steps, params=params).n_steps for s in exp.scenarios]
    print("weeks per run: " + ", ".join(f"{exp.scenario_label(s)} {w}" for s, w in zip(exp.scenarios, weeks,
                                                                                          strict=True)))
    fixed, per_week, timed_weeks = time_one_run(exp.scenarios[0], exp.strategies[0], params, weeks[0])
    runs_per_scenario = exp.n_runs // len(exp.scenarios)
    total = runs_per_scenario * sum(fixed + per_week * w for w in weeks)
    workers = args.workers or (1 if args.scheduler else os.cpu_count() or 1)
    where = (f"{workers} worker(s)" if not args.scheduler or args.workers
             else "1 worker (divide by the scheduler's workers)")
    print(f"estimated time: about {_duration(total / workers)} on {where}, {_duration(total)} of runs in all")
    print(f"  how: 1-week and {timed_weeks}-week runs of {exp.scenario_label(exp.scenarios[0])} under "
          f"{exp.strategy_label(exp.strategies[0])} timed here ({fixed:.2f} s per run + {per_week * 1000:.1f} ms "
          f"per week), scaled to each scenario's weeks, times the runs, divided by the workers; "
          f"not counted: starting the workers, writing the runs and the report")
    print("dry run: nothing was run or written")
    return 0


def cmd_sweep(args) -> int:
    from simulation.sweep.executors import dask_executor
    from simulation.sweep.experiment import SweepError
    from simulation.sweep.lifeline import signals_interrupt
    from simulation.sweep.loop import run_sweep

    if args.retry_failed and not args.resume:
        raise UsageError("simulation sweep: --retry-failed needs --resume")
    exp = load_sweep_experiment(args)
    if args.dry_run:
        return dry_run(exp, args)
    if args.out is not None and args.resume and not (args.out / "experiment.toml").is_file():
        raise UsageError(f"simulation sweep: --resume --out {args.out}: not a sweep directory (no experiment.toml)")
    if args.out is not None and not args.resume and (args.out / "experiment.toml").is_file():
        raise UsageError(f"simulation sweep: --out {args.out} is a sweep directory (use --resume to continue it)")
    if args.out is not None or not args.resume:
        _check_out(args.out if args.out is not None else Path("runs") / exp.name, "sweep", existing=args.resume)
    opts = {"out": args.out, "resume": args.resume, "retry_failed": args.retry_failed,
            "progress": not args.no_progress}
    try:
        if args.scheduler:
            with signals_interrupt(), dask_executor(args.scheduler, args.workers) as executor:  # SIGTERM closes it
                res = run_sweep(exp, executor, **opts)
        else:
            res = run_sweep(exp, workers=args.workers, **opts)
    except SweepError as exc:
        raise UsageError(f"simulation sweep: {exc}") from None
    print(f"{res.n_runs} runs: {res.n_executed} run now, {res.n_done_before} done before, "
          f"{res.n_failed} failed ({res.wall_time_s:.1f} s)")
    print(f"sweep directory: {res.directory}")
    if (res.directory / "report.md").is_file():
        print(f"report: {res.directory / 'report.md'}")
    return 0


def cmd_compare(args) -> int:
    if len(args.dirs) == 2:
        return compare_runs(*args.dirs, out=args.out, figures=not args.no_figures)
    if len(args.dirs) > 2:
        raise UsageError(f"simulation compare: give one sweep directory or two run directories, not {len(args.dirs)}")
    sweep_dir = args.dirs[0]
    if not (sweep_dir / "experiment.toml").is_file():
        hint = (" (a run directory: compare two runs, RUN_A RUN_B)" if (sweep_dir / "summary.json").is_file()
                else "")
        raise UsageError(f"simulation compare: {sweep_dir} is not a sweep directory (no experiment.toml){hint}")
    if args.out is not None or args.no_figures:
        flag = "--out" if args.out is not None else "--no-figures"
        raise UsageError(f"simulation compare: {flag} applies to two runs; a sweep's report is written in the "
                         "sweep directory")
    from simulation.sweep.experiment import SweepError
    from simulation.sweep.report import write_report
    from simulation.sweep.store import SweepLock, mark_reported

    try:
        with SweepLock(sweep_dir).acquire():  # a running sweep owns it: its report comes at its end
            path = write_report(sweep_dir)
            mark_reported(sweep_dir)
    except SweepError as exc:
        raise UsageError(f"simulation compare: {exc}") from None
    print(f"report: {path}")
    return 0


def compare_runs(dir_a: Path, dir_b: Path, out: Path | None, figures: bool = True) -> int:
    """``simulation compare RUN_A RUN_B``: both runs read and the output folder checked before anything
    is written; then the table on the console and ``comparison.md``, ``comparison.csv``, ``figures/``."""
    from simulation.compare import RunDirError, console_lines, default_name, load_run, write_comparison
    from simulation.rundir import timestamped_dir

    runs = []
    for name, path in (("RUN_A", dir_a), ("RUN_B", dir_b)):
        try:
            runs.append(load_run(path))
        except RunDirError as exc:
            raise UsageError(f"simulation compare: {name}: {exc}") from None
    a, b = runs
    out = out if out is not None else timestamped_dir("runs", default_name(a, b))
    _check_out(out, "compare")
    for line in console_lines(a, b):
        print(line)
    path = write_comparison(a, b, out, figures=figures)
    print(f"comparison: {path / 'comparison.md'}")
    return 0


def _validate_report_path(args) -> Path:
    """Where ``validate`` writes: ``--report FILE``, ``--docs`` (the project's docs/calibration.md)
    or ``--out DIR`` (default ``runs/validate-<time>/``) + ``calibration.md``; checked before running."""
    from simulation.rundir import timestamped_dir

    if args.report is not None:
        _check_report(args.report, "--report")
        return args.report
    if args.docs:
        path = PROJECT_ROOT / "docs" / "calibration.md"
        _check_report(path, "--docs")
        return path
    out = args.out if args.out is not None else timestamped_dir("runs", "validate")
    _check_out(out, "validate")
    return out / "calibration.md"


def cmd_validate(args) -> int:
    from simulation.calibration import TOLERANCE, table, validate, write_report
    from simulation.validation import load_test_set, report_lines, results_table, run_test_set

    path = _validate_report_path(args)
    load_test_set()  # a bad test-set file is refused before anything runs
    checks = validate(n_seeds=args.seeds)
    print(f"Fit set (the calibration cases; pass within +-{TOLERANCE:.0%}):")
    for line in table(checks):
        print(line)
    tests = run_test_set(n_seeds=args.test_seeds)
    print("Test set (episodes of the record; never read by calibration; bands written before the runs):")
    for line in results_table(tests):
        print(line)
    write_report(checks, path, args.seeds, test_set=report_lines(tests))
    failed = [c for c in checks if not c.ok]
    counts = {k: sum(r.status == k for r in tests) for k in ("pass", "FAIL", "not expressible")}
    print(f"fit set: {len(checks) - len(failed)} passed, {len(failed)} failed; test set: {counts['pass']} passed, "
          f"{counts['FAIL']} failed, {counts['not expressible']} not expressible; report: {path}")
    return 1 if failed else 0


def _check_report(path: Path, flag: str) -> None:
    """Refuse a report path that cannot be written, before the cases run."""
    from simulation.runner import output_dir_problem

    if path.is_dir() or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"simulation validate: {flag} {path}: not a writable file")
    folder = path.parent
    problem = output_dir_problem(folder, existing=True) if folder.is_dir() else output_dir_problem(folder)
    if problem is not None:
        raise UsageError(f"simulation validate: {flag} {path}: {problem}")


def cmd_calibrate(args) -> int:
    from simulation.calibration import calibrate, calibration_dir, read_fitted
    from simulation.rundir import timestamped_dir
    from simulation.runner import output_dir_problem

    shipped = calibration_dir() / "profiles"
    if args.write:
        out = shipped
        problem = output_dir_problem(shipped, existing=True)
        if problem is not None:
            raise UsageError(f"simulation calibrate: --write: the profiles cannot be written: {problem}")
    else:
        out = args.out if args.out is not None else timestamped_dir("runs", "calibrate")
        _check_out(out, "calibrate")
    before = read_fitted(calibration_dir())
    keys = ("induced_multiplier", "inventory_days_scale", "max_reroute_share")
    for profile, fit in calibrate(seeds=tuple(range(1, args.seeds + 1)), out=out).items():
        res = ", ".join(f"{k} {v:+.1%}" for k, v in fit["residuals"].items())
        old = before.get(profile, {})
        values = ", ".join(f"{k} {fit[k]:.4g}" + (f" (shipped {old[k]:.4g})" if old.get(k) is not None else "")
                           for k in keys if k in fit)
        missed = f"; NO LOSS AT ALL in {', '.join(fit['missed'])}" if fit.get("missed") else ""
        print(f"{profile}: {values}; residuals {res}{missed}")
    if args.write:
        print(f"profiles written to {shipped}; run `simulation validate --docs` to check them "
              "and regenerate the regression baseline")
    else:
        print(f"proposed profiles: {out} (the shipped profiles in {shipped} are unchanged; "
              "`simulation calibrate --write` replaces them)")
    return 0


def cmd_sensitivity(args) -> int:
    from simulation.config.catalogue import load_catalogue
    from simulation.rundir import timestamped_dir
    from simulation.sweep.sensitivity import SensitivityError, write_sensitivity

    if args.docs:
        out = PROJECT_ROOT / "docs" / "sensitivity.md"
    else:
        out = args.out if args.out is not None else timestamped_dir("runs", "sensitivity") / "sensitivity.md"
        if out.is_dir():
            raise UsageError(f"simulation sensitivity: --out {out} is a folder: give the document's file name")
    cat = load_catalogue(args.catalogue)  # a ConfigError names the catalogue file and key
    try:
        path = write_sensitivity(args.dirs, cat, str(args.catalogue), out)
    except SensitivityError as exc:
        raise UsageError(f"simulation sensitivity: {exc}") from None
    print(f"sensitivity: {path}")
    return 0


COMMANDS = {"run": cmd_run, "sweep": cmd_sweep, "compare": cmd_compare, "validate": cmd_validate,
            "sensitivity": cmd_sensitivity,
            "calibrate": cmd_calibrate, "view": cmd_view}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simulation`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
            raise UsageError(f"simulation: unrecognized arguments: {argv[0]} (a COMMAND comes first: "
                             f"{', '.join(COMMANDS)}; see simulation --help)")
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # named by the command's parser (argparse would name only `simulation`)
            raise UsageError(f"simulation {args.command}: unrecognized arguments: {' '.join(extra)}")
    except UsageError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version print, then exit 0
        return exc.code if isinstance(exc.code, int) else 0
    from simulation.config import ConfigError  # imports pydantic: only once a command runs

    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C; SIGTERM or SIGHUP during a sweep (sweep.lifeline.Interrupted)
        signum = getattr(exc, "signum", 2)
        print("interrupted" + (f" by {exc}" if signum != 2 else ""), file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
