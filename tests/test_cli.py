"""The command line (issue 16, item 3): --version, no abbreviated flags, consistent flags
(--out, sweep --seed/--seeds/--steps), sweep --dry-run, where validate and calibrate write,
'did you mean' for names, help with examples that imports no heavy module.

Commands run in-process (``main([...])``) from an empty working directory, so that anything
a command writes by default (``runs/...``) shows up there."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import simulation
from simulation import calibration, cli, validation
from simulation.cli import build_parser, main
from simulation.sweep.design import design, run_seed
from tests.conftest import refused

from .conftest import ROOT
from .test_sweep import experiment_file

COMMANDS = ("run", "view", "sweep", "compare", "sensitivity", "validate", "calibrate")
HEAVY = ("numpy", "pandas", "mesa", "matplotlib", "numba")


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def no_call(*_args, **_kwargs):
    raise AssertionError("a refused command or a dry run must not get this far")


# ------------------------------------------------------------------ version, help


def test_version(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"simulation (coercion-sim) {simulation.__version__}"
    assert simulation.__version__ == importlib.metadata.version("coercion-sim")


def test_module_entry_point_prints_the_version():
    proc = subprocess.run([sys.executable, "-m", "simulation", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip().endswith(simulation.__version__), proc.stderr


@pytest.mark.parametrize("command", ("", *COMMANDS))
def test_help_has_examples(command, capsys):
    assert main([command, "--help"] if command else ["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"simulation {command}".strip() in out.split("examples:")[1]


def test_help_imports_no_heavy_module():
    """``simulation --help`` is fast because the model and its libraries are imported only by the
    commands (and ``import simulation`` loads its public API lazily)."""
    code = ("import contextlib, io, sys\n"
            "from simulation.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    codes = [main(['--help']), main(['sweep', '--help']), main(['--version'])]\n"
            "with contextlib.redirect_stderr(io.StringIO()):\n"
            "    codes.append(main(['sweep', 'x.toml', '--seedz', '3']))\n"
            f"print(codes, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0, 0, 0, 2] []"


def test_public_api_is_loaded_on_first_use():
    from simulation import CoercionModel, load_config, run, run_sweep
    from simulation.config import load_config as loader
    from simulation.model import CoercionModel as model
    from simulation.runner import run as runner
    from simulation.sweep.loop import run_sweep as sweeper

    assert (CoercionModel, load_config, run, run_sweep) == (model, loader, runner, sweeper)
    assert set(simulation.__all__) <= set(dir(simulation))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simulation.nope  # noqa: B018


# ------------------------------------------------------------- no abbreviations


def test_every_parser_refuses_abbreviations():
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public way
    assert set(subparsers) == set(COMMANDS)
    assert not parser.allow_abbrev and not any(p.allow_abbrev for p in subparsers.values())


def test_flags_are_the_same_across_commands():
    """--out on every command that writes, --steps wherever a run's length is chosen, --seed for a
    run's seed and a sweep's root seed (--seeds: a sweep's replicates)."""
    subparsers = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public way
    flags = {name: {opt for action in p._actions for opt in action.option_strings}  # noqa: SLF001
             for name, p in subparsers.items()}
    assert all("--out" in flags[c] for c in ("run", "sweep", "compare", "sensitivity", "validate", "calibrate"))
    assert all("--steps" in flags[c] for c in ("run", "view", "sweep"))
    assert "--seed" in flags["run"] and {"--seed", "--seeds"} <= flags["sweep"]
    assert "--out" not in flags["view"]  # it writes nothing


@pytest.mark.parametrize("argv, flag", [
    (["sweep", "EXP", "--seed", "3", "--see", "3"], "--see"),
    (["sweep", "EXP", "--dry"], "--dry"),
    (["run", "--strat", "baseline"], "--strat"),
    (["run", "--no-fig"], "--no-fig"),
    (["validate", "--see", "2"], "--see"),
    (["calibrate", "--wr"], "--wr"),
    (["view", "--allow"], "--allow"),
    (["compare", "A", "B", "--no-fig"], "--no-fig"),
    (["compare", "A", "B", "--ou", "x"], "--ou"),
])
def test_abbreviated_flags_are_refused(argv, flag, here, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", dict.fromkeys(COMMANDS, no_call))
    refused(capsys, main(argv), f"simulation {argv[0]}: unrecognized arguments: {flag}")
    assert files_under(here) == []


@pytest.mark.parametrize("argv, fragments", [
    (["--bogus"], ("simulation: unrecognized arguments: --bogus", "run, sweep")),
    ([], ("required: COMMAND",)),
    (["sweep", "EXP", "--seeds", "abc"], ("argument --seeds", "not a whole number")),
    (["sweep", "EXP", "--seed", "-1"], ("argument --seed", "must be >= 0")),
    (["sweep", "EXP", "--seed", str(2**63)], ("argument --seed", "below 2**63")),
    (["sweep", "EXP", "--steps", "0"], ("argument --steps", "must be >= 1")),
    (["sweep", "EXP", "extra"], ("simulation sweep: unrecognized arguments: extra",)),
    (["run", "--steps", "x"], ("argument --steps",)),
    (["validate", "--out", "a", "--docs"], ("argument --docs: not allowed with argument --out",)),
    (["calibrate", "--out", "a", "--write"], ("not allowed with argument",)),
])
def test_bad_command_lines_are_one_line(argv, fragments, here, capsys):
    refused(capsys, main(argv), *fragments)
    assert files_under(here) == []


# ------------------------------------------------------------------ sweep flags


def test_sweep_seed_is_the_root_seed_beside_seeds_and_steps(tmp_path, here, capsys, monkeypatch):
    exp_file = experiment_file(tmp_path / "exp")  # seed 11, seeds 2, tiny world
    seen = []
    monkeypatch.setattr("simulation.sweep.loop.run_sweep", lambda exp, *a, **k: seen.append(exp) or no_call())
    for argv in (["--seed", "99"], ["--seeds", "3"], ["--steps", "10", "--seed", "0"]):
        with pytest.raises(AssertionError):
            main(["sweep", str(exp_file), "--no-progress", *argv])
    by_seed, by_seeds, by_steps = seen
    assert (by_seed.seed, by_seed.seeds, by_seed.steps) == (99, 2, None)
    assert (by_seeds.seed, by_seeds.seeds) == (11, 3)
    assert (by_steps.seed, by_steps.steps) == (0, 10)
    table = design(by_seed)
    assert table["seed"].iloc[0] == run_seed(99, "tiny", 0, 0) != run_seed(11, "tiny", 0, 0)
    assert files_under(here) == []


def test_sweep_steps_beyond_the_horizon_is_refused(tmp_path, here, capsys, monkeypatch):
    monkeypatch.setattr("simulation.sweep.loop.run_sweep", no_call)
    exp_file = experiment_file(tmp_path / "exp")
    refused(capsys, main(["sweep", str(exp_file), "--steps", "5000"]), "simulation sweep: --steps 5000",
            "exceed the horizon", "(tiny)")
    assert files_under(here) == []


def test_sweep_dry_run_counts_and_estimates_and_writes_nothing(tmp_path, here, capsys, monkeypatch):
    monkeypatch.setattr("simulation.sweep.loop.run_sweep", no_call)
    exp_file = experiment_file(tmp_path / "exp")
    before = files_under(tmp_path)
    code = main(["sweep", str(exp_file), "--dry-run", "--workers", "2", "--out", str(tmp_path / "sweep")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "12 runs = 1 scenario(s) x 3 strategies x 2 sample(s) x 2 seed(s)" in out
    assert "estimated time: about" in out and "on 2 worker(s)" in out and "how: 1-week and" in out
    assert "nothing was run or written" in out
    assert files_under(tmp_path) == before  # no sweep directory, no runs/ in the working directory
    code = main(["sweep", str(exp_file), "--dry-run", "--design", "lhs", "--samples", "3", "--seeds", "4"])
    assert code == 0 and "36 runs = 1 scenario(s) x 3 strategies x 3 sample(s) x 4 seed(s)" in capsys.readouterr().out


def test_shipped_experiment_dry_run_by_name(here, capsys, monkeypatch):
    monkeypatch.setattr("simulation.sweep.loop.run_sweep", no_call)
    assert main(["sweep", "korea_strategies", "--dry-run", "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "160 runs = 1 scenario(s) x 8 strategies x 20 sample(s) x 1 seed per sample (matched)" in out
    assert "korea_coerced 4" in out
    assert files_under(here) == []


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--strategy", "stockpile100"],
     "simulation run: --strategy: unknown strategy 'stockpile100': did you mean 'stockpile_100'? "
     "(strategies: baseline, combined, dependence_ceiling,"),
    (["run", "korea_coereced"], "unknown scenario 'korea_coereced': did you mean 'korea_coerced'? "
                                "(scenarios: japan_2026, korea_coerced, record_2023_2026)"),
    (["run", "korea_coerced", "--strategy", "hree180"], "did you mean 'hree_180'?"),
    (["view", "japan2026"], "simulation view: scenario: unknown scenario 'japan2026': did you mean 'japan_2026'?"),
    (["sweep", "korea_strategy", "--dry-run"], "unknown experiment 'korea_strategy': did you mean 'korea_strategies'?"),
    (["run", "--strategy", "zzz"], "unknown strategy 'zzz' (strategies: baseline,"),
    (["run", "configs/scenarios/korea_coerce.toml"], "file not found; unknown scenario"),
])
def test_unknown_names_get_did_you_mean_and_the_list(argv, fragment, here, capsys, monkeypatch):
    monkeypatch.setattr("simulation.runner.run", no_call)
    monkeypatch.setattr("simulation.sweep.loop.run_sweep", no_call)
    refused(capsys, main(argv), fragment)
    assert files_under(here) == []


def test_a_scenario_may_be_named(here, capsys):
    assert main(["run", "korea_coerced", "--strategy", "stockpile_100", "--steps", "1", "--no-figures",
                 "--out", "one"]) == 0
    out = capsys.readouterr().out
    assert "scenario korea_coerced  strategy stockpile_100" in out
    assert (here / "one" / "summary.json").is_file()


# ------------------------------------------------------------ validate, calibrate


def fake_checks(**_kwargs) -> list[calibration.Check]:
    case = calibration.load_cases()[0]
    return [calibration.Check(case, "gdp_pct", case.gdp_pct, case.gdp_pct * 1.01, case.gdp_pct * 0.9,
                              case.gdp_pct * 1.1)]


def fake_tests(**_kwargs) -> list[validation.EpisodeResult]:
    """The test set's results without running it: its first check, at its record's figure."""
    ep = validation.load_test_set()[0]
    check = ep.checks[0]
    return [validation.EpisodeResult(ep, check, check.published, check.published, check.published)]


def test_validate_writes_under_a_run_folder_by_default(here, capsys, monkeypatch):
    monkeypatch.setattr(calibration, "validate", fake_checks)
    monkeypatch.setattr(validation, "run_test_set", fake_tests)
    assert main(["validate", "--seeds", "1"]) == 0
    written = files_under(here)
    assert len(written) == 4 and written[0] == "runs" and written[1].startswith("runs/validate-")
    assert {Path(p).name for p in written[2:]} == {"calibration.md", "calibration.png"}
    assert "report: runs/validate-" in capsys.readouterr().out
    assert main(["validate", "--out", "mine"]) == 0
    assert (here / "mine" / "calibration.md").is_file() and (here / "mine" / "calibration.png").is_file()
    assert main(["validate", "--report", "r/cal.md"]) == 0  # the former flag: one file
    assert (here / "r" / "cal.md").is_file()
    assert not (here / "docs").exists()


def test_validate_docs_writes_the_projects_report(tmp_path, here, monkeypatch):
    monkeypatch.setattr(calibration, "validate", fake_checks)
    monkeypatch.setattr(validation, "run_test_set", fake_tests)
    monkeypatch.setattr(cli, "PROJECT_ROOT", tmp_path / "project")
    assert main(["validate", "--docs"]) == 0
    assert files_under(tmp_path / "project") == ["docs", "docs/calibration.md", "docs/calibration.png"]
    assert files_under(here) == []


def test_validate_refuses_a_used_out_before_running(here, capsys, monkeypatch):
    monkeypatch.setattr(calibration, "validate", no_call)
    (here / "used").mkdir()
    (here / "used" / "x").write_text("x")
    refused(capsys, main(["validate", "--out", "used"]), "simulation validate: --out: used exists and is not "
                                                         "an empty directory")
    assert files_under(here) == ["used", "used/x"]


FIT = {"induced_multiplier": 1.75, "inventory_days_scale": 0.55, "residuals": {"case": 0.01},
       "max_abs_error": 0.02, "missed": []}


@pytest.fixture
def configs_copy(here, monkeypatch) -> Path:
    """A copy of configs/ in the working directory (the one the commands use); the fit is faked."""
    shutil.copytree(ROOT / "configs", here / "configs")
    monkeypatch.setattr(calibration, "_fit", lambda cases, seeds, directory, *grid: {
        "adaptive": {**FIT, "max_reroute_share": 0.35}, "fixed_coefficient": dict(FIT)})
    return here / "configs" / "calibration" / "profiles"


def test_calibrate_proposes_under_out_and_changes_nothing_shipped(configs_copy, here, capsys):
    shipped = {p.name: p.read_bytes() for p in configs_copy.iterdir()}
    project = {p.name: p.read_bytes() for p in (ROOT / "configs" / "calibration" / "profiles").iterdir()}
    assert main(["calibrate"]) == 0
    out = capsys.readouterr().out
    assert "proposed profiles: runs/calibrate-" in out and "unchanged" in out and "(shipped " in out
    proposed = sorted((here / "runs").glob("calibrate-*/*_fitted.toml"))
    assert [p.name for p in proposed] == ["adaptive_fitted.toml", "fixed_coefficient_fitted.toml",
                                          "shared_fitted.toml"]
    assert "induced_multiplier = 1.75" in proposed[2].read_text()  # one multiplier, shared by both views
    assert all('include = "shared_fitted.toml"' in p.read_text() for p in proposed[:2])
    assert main(["calibrate", "--out", "refit"]) == 0
    assert sorted(p.name for p in (here / "refit").iterdir()) == [p.name for p in proposed]
    assert {p.name: p.read_bytes() for p in configs_copy.iterdir()} == shipped
    assert {p.name: p.read_bytes() for p in (ROOT / "configs" / "calibration" / "profiles").iterdir()} == project


def test_calibrate_write_replaces_the_shipped_profiles(configs_copy, here, capsys):
    assert main(["calibrate", "--write"]) == 0
    assert "profiles written to" in capsys.readouterr().out
    assert "induced_multiplier = 1.75" in (configs_copy / "shared_fitted.toml").read_text()
    assert "max_reroute_share = 0.35" in (configs_copy / "adaptive_fitted.toml").read_text()
    assert not (here / "runs").exists()


def test_calibrate_refuses_a_used_out_before_fitting(here, capsys, monkeypatch):
    monkeypatch.setattr(calibration, "_fit", no_call)
    (here / "used").mkdir()
    (here / "used" / "x").write_text("x")
    refused(capsys, main(["calibrate", "--out", "used"]), "simulation calibrate: --out: used exists")
    assert files_under(here) == ["used", "used/x"]


def test_cli_imports_no_heavy_module_at_top():
    """Guard for the fast --help: the module itself imports only the standard library."""
    text = (ROOT / "simulation" / "cli.py").read_text()
    top = [ln for ln in text.splitlines() if ln.startswith(("import ", "from "))]
    assert all(ln.split()[1].split(".")[0] in {"__future__", "argparse", "difflib", "os", "sys", "time",
                                               "pathlib", "simulation"} for ln in top), top
    assert [ln for ln in top if ln.startswith("from simulation")] == ["from simulation import __version__"]
