"""The ``simulation`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from simulation.config import ConfigError, load_config
from simulation.config.errors import printable


class UsageError(Exception):
    """A bad command line (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(f"{self.prog}: {message}")


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


def _port(text: str) -> int:
    value = _nonneg_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text}")
    return value


def build_parser() -> Parser:
    p = Parser(prog="simulation", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    r = sub.add_parser("run", help="run one scenario and write a run directory")
    r.add_argument("config", nargs="?", default=None,
                   help="scenario or resolved config (default configs/scenarios/japan_2026.toml)")
    r.add_argument("--seed", type=_nonneg_int, help="override run.seed")
    r.add_argument("--steps", type=_positive_int, help="weeks to run (<= horizon)")
    r.add_argument("--strategy", help="strategy name (configs/strategies/NAME.toml) or file")
    r.add_argument("--out", type=Path, help="run directory (default runs/<scenario>-<strategy>-<time>)")
    r.add_argument("--no-figures", action="store_true", help="skip figures/*.png")
    v = sub.add_parser("view", help="serve the browser view (Mesa SolaraViz) on this machine, offline")
    v.add_argument("config", nargs="?", default=None,
                   help="scenario or config the page starts with (default configs/scenarios/japan_2026.toml)")
    v.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0: any free port)")
    v.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1); a non-loopback one needs --allow-remote")
    v.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other machines can reach (the view has no login)")
    v.add_argument("--steps", type=_positive_int, help="weeks to run (<= horizon)")
    sw = sub.add_parser("sweep", help="run an experiment: scenarios x strategies x uncertainties x seeds")
    sw.add_argument("experiment", help="experiment file (e.g. configs/experiments/korea_strategies.toml)")
    sw.add_argument("--workers", type=_positive_int, help="local worker processes (default: CPU count)")
    sw.add_argument("--scheduler", metavar="ADDRESS|local",
                    help="run on Dask: tcp://HOST:PORT of a scheduler, or 'local' for a LocalCluster")
    sw.add_argument("--resume", action="store_true", help="continue the sweep in --out (default: the latest)")
    sw.add_argument("--retry-failed", action="store_true", help="with --resume, rerun the failed runs too")
    sw.add_argument("--out", type=Path, help="sweep directory (default runs/<experiment>-<time>)")
    sw.add_argument("--design", choices=["none", "grid", "lhs", "sobol"], help="override design.method")
    sw.add_argument("--samples", type=_positive_int, help="override design.samples")
    sw.add_argument("--seeds", type=_positive_int, help="override seeds (replicates per sample)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    va = sub.add_parser("validate", help="run the calibration cases; published figures beside the model's")
    va.add_argument("--seeds", type=_positive_int, default=20, help="seeds per case (default 20)")
    va.add_argument("--report", type=Path, default=Path("docs/calibration.md"),
                    help="where to write the report (default docs/calibration.md)")
    ca = sub.add_parser("calibrate", help="refit the calibration profiles (configs/calibration/profiles)")
    ca.add_argument("--seeds", type=_positive_int, default=2, help="fit seeds per case (default 2: seeds 1, 2)")
    cp = sub.add_parser("compare", help="(re)build a sweep's comparison: report.md, tables, figures")
    cp.add_argument("sweep_dir", type=Path, help="a sweep directory")
    return p


def _fmt(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def print_summary(summary: dict, run_dir: Path | None, wall: float) -> None:
    esc = summary["escalation"]
    print(f"scenario {summary['scenario']}  strategy {summary['strategy']}  seed {summary['seed']}  "
          f"weeks {summary['steps']}  ({wall:.1f} s)")
    print(f"escalation: peak level {esc['peak_level']} ({esc['peak_stage']}) after "
          f"{esc['weeks_to_peak']} weeks; conceded: {'yes' if esc['conceded'] else 'no'}")
    target = summary["target"]
    head = (f"{'country':8} {'cum loss':>18} {'% GDP':>8} {'peak jobs':>10} {'peak short':>10} {'wks short':>9}  "
            f"loss by commodity (% GDP)")
    print(head)
    print("-" * len(head))
    for c, row in summary["countries"].items():
        if c != target and c not in ("JP", "KR", "US", "EU", "CN"):
            continue
        mark = "*" if c == target else " "
        loss = f"{_fmt(row['cum_output_loss'])} {row['currency']}"
        by_com = list(row["cum_output_loss_pct_gdp_by_commodity"].items())[:3]
        drivers = ", ".join(f"{com} {pct:.3f}" for com, pct in by_com)
        print(f"{c + mark:8} {loss:>18} {row['cum_output_loss_pct_gdp']:8.3f} "
              f"{row['peak_jobs_lost']:10,.0f} {row['peak_shortage_share']:10.2%} "
              f"{row['weeks_in_shortage']:9d}  {drivers or '-'}")
    if run_dir is not None:
        print(f"run directory: {run_dir}")


def _check_out(out: Path, command: str, existing: bool = False) -> None:
    """Refuse an output folder that cannot be written, before anything is computed (one line)."""
    from simulation.runner import output_dir_problem

    problem = output_dir_problem(out, existing=existing)
    if problem is not None:
        raise UsageError(f"simulation {command}: --out: {problem}")


def cmd_run(args) -> int:
    from simulation.runner import default_run_dir, run, write_run

    config = load_config(args.config, seed=args.seed, steps=args.steps, strategy=args.strategy)
    out = args.out if args.out is not None else default_run_dir(config)
    _check_out(out, "run")
    results = run(config)
    path = write_run(results, out, figures=not args.no_figures)
    print_summary(results.summary, path, results.wall_time_s)
    return 0


def cmd_view(args) -> int:
    from simulation.viz.server import ViewError, serve  # solara is imported only by the server

    load_config(args.config, steps=args.steps)  # a bad config stops here, in one line
    try:
        serve(args.config, host=args.host, port=args.port, steps=args.steps, allow_remote=args.allow_remote)
    except ViewError as exc:  # a refused host, a busy or forbidden port: before the server starts
        raise UsageError(f"simulation view: {exc}") from None
    return 0


def cmd_sweep(args) -> int:
    from simulation.sweep.executors import dask_executor
    from simulation.sweep.experiment import SweepError, load_experiment
    from simulation.sweep.lifeline import signals_interrupt
    from simulation.sweep.loop import run_sweep

    if args.retry_failed and not args.resume:
        raise UsageError("simulation sweep: --retry-failed needs --resume")
    exp = load_experiment(args.experiment, method=args.design, samples=args.samples, seeds=args.seeds)
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
    from simulation.sweep.experiment import SweepError
    from simulation.sweep.report import write_report
    from simulation.sweep.store import SweepLock, mark_reported

    if not (args.sweep_dir / "experiment.toml").is_file():
        raise UsageError(f"simulation compare: {args.sweep_dir} is not a sweep directory (no experiment.toml)")
    try:
        with SweepLock(args.sweep_dir).acquire():  # a running sweep owns it: its report comes at its end
            path = write_report(args.sweep_dir)
            mark_reported(args.sweep_dir)
    except SweepError as exc:
        raise UsageError(f"simulation compare: {exc}") from None
    print(f"report: {path}")
    return 0


def cmd_validate(args) -> int:
    from simulation.calibration import table, validate, write_report

    _check_report(args.report)
    checks = validate(n_seeds=args.seeds)
    for line in table(checks):
        print(line)
    write_report(checks, args.report, args.seeds)
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed; report: {args.report}")
    return 1 if failed else 0


def _check_report(path: Path) -> None:
    """Refuse a report path that cannot be written, before the cases run."""
    from simulation.runner import output_dir_problem

    if path.is_dir() or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"simulation validate: --report {path}: not a writable file")
    folder = path.parent
    problem = output_dir_problem(folder, existing=True) if folder.is_dir() else output_dir_problem(folder)
    if problem is not None:
        raise UsageError(f"simulation validate: --report {path}: {problem}")


def cmd_calibrate(args) -> int:
    from simulation.calibration import calibrate, calibration_dir
    from simulation.runner import output_dir_problem

    problem = output_dir_problem(calibration_dir() / "profiles", existing=True)
    if problem is not None:
        raise UsageError(f"simulation calibrate: the profiles cannot be written: {problem}")
    for profile, fit in calibrate(seeds=tuple(range(1, args.seeds + 1))).items():
        res = ", ".join(f"{k} {v:+.1%}" for k, v in fit["residuals"].items())
        extra = f", max_reroute_share {fit['max_reroute_share']:.4g}" if "max_reroute_share" in fit else ""
        print(f"{profile}: induced_multiplier {fit['induced_multiplier']:.4g}, "
              f"inventory_days_scale {fit['inventory_days_scale']:.4g}{extra}; residuals {res}")
    print("profiles written to configs/calibration/profiles/; run `simulation validate` to check them")
    return 0


COMMANDS = {"run": cmd_run, "sweep": cmd_sweep, "compare": cmd_compare, "validate": cmd_validate,
            "calibrate": cmd_calibrate, "view": cmd_view}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simulation`` console script."""
    try:
        args = build_parser().parse_args(argv)
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
