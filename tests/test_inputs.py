"""Every input checked before anything runs or is written (issue 12): the config tree, finite
numbers, sizes, experiment files and output paths each fail in one line naming the file and
the key, exit code 2, nothing written; outputs are strict JSON; a loss never exceeds output.

The property-based tests mutate the tiny world's config and a small experiment file (deleted
and renamed keys, swapped types, inf and NaN, unicode, deep nesting, include cycles, other
encodings) and hold every outcome to that contract; ``INPUTS_FUZZ_EXAMPLES`` sets how many
inputs each tries (default 200) and ``-s`` prints how they ended.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.cli import main
from simulation.config import ConfigError, config_to_dict, load_config
from simulation.config.loading import MAX_DEPTH
from simulation.runner import run, strict_json, write_run_files
from simulation.sweep.design import design
from simulation.sweep.experiment import load_experiment
from tests.conftest import TINY, refused

INF, NAN = float("inf"), float("nan")
TINY_DATA = config_to_dict(load_config(TINY))
FUZZ_EXAMPLES = int(os.environ.get("INPUTS_FUZZ_EXAMPLES", "200"))


# ------------------------------------------------------------------ helpers


def write_config(folder: Path, data: dict, name: str = "bad.toml") -> Path:
    path = folder / name
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def tiny_with(folder: Path, edit) -> Path:
    data = copy.deepcopy(TINY_DATA)
    edit(data)
    return write_config(folder, data)


def run_cli(capsys, *argv: str) -> int:
    capsys.readouterr()
    return main(list(argv))


# ---------------------------------------------------------- the config tree


def _cycle(folder: Path) -> Path:
    (folder / "b.toml").write_text('include = "a.toml"\n')
    (folder / "a.toml").write_text('include = "b.toml"\n')
    return folder / "a.toml"


def _self_include(folder: Path) -> Path:
    (folder / "self.toml").write_text('include = ["self.toml"]\n')
    return folder / "self.toml"


def _text(name: str, data: bytes):
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name
    return make


TREE = {
    "include cycle": (_cycle, ["b.toml: include: circular include of a.toml (a.toml -> b.toml -> a.toml)"]),
    "self include": (_self_include, ["self.toml: include: circular include of self.toml"]),
    "binary": (_text("bin.toml", bytes(range(256))), ["bin.toml: not UTF-8 text"]),
    "utf-16": (_text("u16.toml", TINY.read_text().encode("utf-16")), ["u16.toml: not UTF-8 text"]),
    "deep arrays": (_text("deep.toml", b"x = " + b"[" * 5000 + b"]" * 5000), [f"deeper than {MAX_DEPTH} levels"]),
    "deep tables": (_text("deep.toml", b"x = " + b"{a=" * 3000 + b"1" + b"}" * 3000), ["deep.toml: tables"]),
    "just past the depth": (_text("deep.toml", b"x = " + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)),
                            ["deep.toml: tables and arrays nest deeper"]),
    "date past the calendar": (lambda f: tiny_with(f, lambda d: (d["scenario"].update(start_date=dt.date(9999, 6, 1)),
                                                                 d["escalation"].update(script=[]))),
                               ["scenario.start_date: 9999-06-01 + 52 weeks runs past the calendar's last day"]),
}


@pytest.mark.parametrize("case", sorted(TREE))
def test_config_tree_problems_are_one_line(tmp_path, capsys, case):
    make, fragments = TREE[case]
    path = make(tmp_path)
    out = tmp_path / "out"
    refused(capsys, run_cli(capsys, "run", str(path), "--out", str(out)), *fragments)
    assert not out.exists()


def test_a_depth_within_the_limit_is_read(tmp_path):
    from simulation.config.loading import read_toml

    path = tmp_path / "ok.toml"
    path.write_text("x = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert "x" in read_toml(path)


# ---------------------------------------------------------- finite numbers

JP = ("world", "countries", "JP")
NUMBERS = {
    "gdp inf": (lambda d: d["world"]["countries"]["JP"].update(gdp_lcu_per_year=INF),
                "world.countries.JP.gdp_lcu_per_year: Input should be a finite number"),
    "inventory days inf": (lambda d: d["world"]["countries"]["JP"]["commodities"]["ree"].update(inventory_days=INF),
                           "world.countries.JP.commodities.ree.inventory_days: Input should be a finite number"),
    "trade ban inf": (lambda d: d["escalation"]["levels"][1]["measures"].append(
        {"kind": "trade_ban", "target_loss_share_gdp_per_year": INF}),
        "escalation.levels[1].measures[1].target_loss_share_gdp_per_year: Input should be a finite"),
    "capacity inf": (lambda d: d["world"]["commodities"]["ree"]["capacity_t_per_year"].update(CN=INF),
                     "world.commodities.ree.capacity_t_per_year.CN: Input should be a finite number"),
    "firms.scale inf": (lambda d: d["world"]["firms"].update(scale=INF), "world.firms.scale: Input should be a finite"),
    "delay inf": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(delay_weeks=INF),
                  "escalation.levels[1].measures[0].delay_weeks: Input should be a finite number"),
    "nan": (lambda d: d["world"]["output"].update(induced_multiplier=NAN),
            "world.output.induced_multiplier: Input should be a finite number (got nan)"),
    "-inf": (lambda d: d["world"]["firms"].update(size_sigma=-INF), "world.firms.size_sigma: Input should be"),
    "price true": (lambda d: d["world"]["commodities"]["ree"].update(price_usd_per_t=True),
                   "world.commodities.ree.price_usd_per_t: Input should be a valid number (got True)"),
    "count false": (lambda d: d["world"]["countries"]["JP"].update(n_manufacturers=False),
                    "world.countries.JP.n_manufacturers: Input should be a valid number (got False)"),
    "number as text": (lambda d: d["world"]["firms"].update(scale="2"), "world.firms.scale: Input should be a valid"),
    "date as number": (lambda d: d["scenario"].update(start_date=0),
                       "scenario.start_date: Input should be a valid date"),
    "flag as number": (lambda d: d["world"]["countries"]["JP"].update(transit_hub=1),
                       "world.countries.JP.transit_hub: Input should be a valid boolean"),
    "lever out of range": (lambda d: d["strategy"].update(levers={"JP": {"stockpile_refill_share_per_week": 2.0}}),
                           "strategy.levers.JP.stockpile_refill_share_per_week: Input should be less than or equal"),
    "lever inf": (lambda d: d["strategy"].update(levers={"JP": {"stockpile_target_days": INF}}),
                  "strategy.levers.JP.stockpile_target_days: Input should be a finite number"),
    "firms too few": (lambda d: d["world"]["firms"].update(scale=1e-6),
                      "world.firms.scale: CN uses ree but would have no manufacturers"),
    "firms too many": (lambda d: d["world"]["firms"].update(scale=1e6),
                       "world.firms.scale: the world would draw about"),
    "firms absurd": (lambda d: d["world"]["firms"].update(scale=1e300),
                     "world.firms.scale: the world would draw about 5.4e+301 firms"),
    "demand without manufacturers": (lambda d: d["world"]["countries"]["JP"].update(n_manufacturers=0),
                                     "world.countries.JP.n_manufacturers: JP uses"),
    "name escapes runs/": (lambda d: d["scenario"].update(name="../../escape"), "scenario.name: must be a plain name"),
    "strategy name escapes": (lambda d: d["strategy"].update(name="/tmp/x"), "strategy.name: must be a plain name"),
}


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_numbers_sizes_and_names_are_checked(tmp_path, capsys, monkeypatch, case):
    edit, fragment = NUMBERS[case]
    path = tiny_with(tmp_path, edit)
    monkeypatch.chdir(tmp_path)  # the default run directory is runs/ here
    refused(capsys, run_cli(capsys, "run", str(path)), f"{path.name}: {fragment}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # nothing written, here or above


def test_overrides_must_be_finite_too():
    with pytest.raises(ConfigError, match=r"world.firms.scale: Input should be a finite number \(got nan\)"):
        load_config(TINY, params={"world.firms.scale": NAN})


# ------------------------------------------------------------- output paths


def test_run_output_paths_are_checked_before_computing(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    cases = {
        str(tmp_path / "a_file"): "exists and is not a directory",
        str(tmp_path / "a_file" / "run"): "a_file is not a directory",
        str(tmp_path / "full"): "exists and is not an empty directory",
        str(tmp_path / ("x" * 240)): "longer than",
        str(tmp_path / "nul\0byte"): "NUL character",
        "/proc/no/such/run": "cannot write in /proc",
    }
    for out, fragment in cases.items():
        refused(capsys, run_cli(capsys, "run", str(TINY), "--out", out), "simulation run: --out", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_validate_refuses_an_unwritable_report_before_running(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    refused(capsys, run_cli(capsys, "validate", "--report", str(tmp_path / "a_file" / "report.md")),
            "simulation validate: --report", "is not a directory")
    refused(capsys, run_cli(capsys, "validate", "--report", str(tmp_path)), "not a writable file")


# ---------------------------------------------------------- experiment files

STRATEGY_FILES = {
    "stock.toml": 'name = "stock"\n[levers.JP]\nstockpile_target_days = 60.0\n',
    "typo.toml": 'name = "typo"\n[levers.JP]\nstockpile_target_dayz = 60.0\n',
}
EXPERIMENT = {
    "name": "fuzz", "seed": 3, "seeds": 1, "steps": 4, "scenarios": [str(TINY)],
    "strategies": ["baseline", "stock.toml"],
    "design": {"method": "lhs", "samples": 2},
    "uncertainties": [
        {"name": "approval", "path": "escalation.levels.1.measures.0.approval_probability", "low": 0.0, "high": 0.6},
        {"name": "start", "path": "escalation.script.0.date", "low": dt.date(2026, 1, 16), "high": dt.date(2026, 3, 6)},
    ],
}


def write_experiment(folder: Path, data: dict, name: str = "exp.toml") -> Path:
    for fname, text in STRATEGY_FILES.items():
        (folder / fname).write_text(text)
    path = folder / name
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def _exp(**changes) -> dict:
    data = copy.deepcopy(EXPERIMENT)
    data.update(changes)
    return data


def _lead_weeks(**range_):
    return [{"name": "lead", "path": "world.market.lead_weeks", **range_}]


EXPERIMENTS = {
    "unknown strategy": (_exp(strategies=["baseline", "no_such"]),
                         "strategies[1]: 'no_such' with tiny: ", "unknown strategy 'no_such'"),
    "strategy with a bad key": (_exp(strategies=["baseline", "typo.toml"]),
                                "strategies[1]: 'typo' with tiny: ",
                                "typo.toml: strategy.levers.JP.stockpile_target_dayz"),
    "float range on an integer path": (_exp(uncertainties=_lead_weeks(low=1.0, high=5.0)),
                                       "uncertainties[0].integer: 'world.market.lead_weeks' takes whole numbers", ""),
    "float values on an integer path": (_exp(uncertainties=_lead_weeks(values=[1, 2.5])),
                                        "uncertainties[0].integer", ""),
    "seeds 1e8": (_exp(seeds=100_000_000, design={"method": "lhs", "samples": 2}),
                  "execution.max_runs: the design has 400,000,000 runs (1 scenario(s) x 2 strategies x 2 sample(s) "
                  "x 100,000,000 seed(s)), more than the 100,000 allowed", ""),
    "huge grid": (_exp(design={"method": "grid", "grid_points": 10**9}),
                  "execution.max_runs: the design has 2,000,000,000,000,000,000 runs", ""),
    "over a lowered maximum": (_exp(seeds=3, execution={"max_runs": 10}),
                               "execution.max_runs: the design has 12 runs", ""),
    "name escapes runs/": (_exp(name="../../escape"), "name: must be a plain name", ""),
    "inf bound": (_exp(uncertainties=[{"name": "x", "path": "world.firms.scale", "low": 0.5, "high": INF}]),
                  "uncertainties[0].high: Input should be a finite number", ""),
    "nan param": (_exp(params={"world.firms.scale": NAN}), "params: world.firms.scale: Input should be a finite", ""),
    "bool seeds": (_exp(seeds=True), "seeds: Input should be a valid number", ""),
}


@pytest.mark.parametrize("case", sorted(EXPERIMENTS))
def test_experiment_problems_stop_the_sweep_before_it_starts(tmp_path, capsys, monkeypatch, case):
    data, fragment, more = EXPERIMENTS[case]
    path = write_experiment(tmp_path, data)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    refused(capsys, run_cli(capsys, "sweep", str(path), "--no-progress"), f"{path.name}: {fragment}", more)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path.parent / "escape").exists()


def test_seeds_on_the_command_line_are_sized_too(tmp_path, capsys, monkeypatch):
    path = write_experiment(tmp_path, _exp())
    monkeypatch.chdir(tmp_path)
    refused(capsys, run_cli(capsys, "sweep", str(path), "--seeds", "100000000", "--no-progress"),
            "execution.max_runs: the design has 400,000,000 runs")
    assert not (tmp_path / "runs").exists()


def test_sweep_output_paths_are_checked_before_starting(tmp_path, capsys):
    path = write_experiment(tmp_path, _exp())
    (tmp_path / "a_file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    refused(capsys, run_cli(capsys, "sweep", str(path), "--resume", "--out", str(tmp_path / "missing")),
            "--resume --out", "not a sweep directory (no experiment.toml)")
    refused(capsys, run_cli(capsys, "sweep", str(path), "--out", str(tmp_path / "a_file" / "sweep")),
            "simulation sweep: --out", "a_file is not a directory")
    refused(capsys, run_cli(capsys, "sweep", str(path), "--out", "/proc/no/sweep"), "cannot write in /proc")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("design_", [{"method": "lhs", "samples": 3}, {"method": "lhs", "matched": True},
                                     {"method": "grid", "grid_points": 3}, {"method": "none"}])
def test_the_design_size_is_known_before_the_design_is_built(tmp_path, design_):
    changes = {"design": design_, "seeds": 2}
    if design_["method"] == "none":
        changes["uncertainties"] = []
    elif design_["method"] == "grid":
        changes["uncertainties"] = [{**EXPERIMENT["uncertainties"][0]},
                                    {"name": "lead", "path": "world.market.lead_weeks", "values": [1, 2]}]
    exp = load_experiment(write_experiment(tmp_path, _exp(**changes)))
    assert exp.n_runs == len(design(exp)) > 0


def test_whole_number_paths_take_integer_ranges(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, _exp(uncertainties=_lead_weeks(low=1, high=4, integer=True))))
    assert {type(v) for v in design(exp)["lead"]} == {int}


# ----------------------------------------------------------- strict outputs


def _no_constants(name: str):
    raise AssertionError(f"non-strict JSON constant {name}")


def test_summary_and_manifest_are_strict_json(tmp_path):
    res = run(load_config(TINY, steps=3))
    res.summary["countries"]["JP"]["cum_output_loss"] = NAN
    res.summary["countries"]["JP"]["final_china_share"]["ree"] = -INF
    write_run_files(res, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text(), parse_constant=_no_constants)
    assert summary["countries"]["JP"]["cum_output_loss"] is None
    assert summary["countries"]["JP"]["final_china_share"]["ree"] is None
    json.loads((tmp_path / "manifest.json").read_text(), parse_constant=_no_constants)
    assert strict_json({"a": [1.0, INF, (NAN, 2)]}, indent=None) == '{"a": [1.0, null, [null, 2]]}\n'


def test_a_country_never_loses_more_than_its_output():
    from simulation import kernels

    cfg = load_config(TINY, steps=12, params={
        "escalation.levels.1.measures": [{"kind": "export_control", "commodities": ["ree", "gallium"],
                                           "approval_probability": 0.0},
                                         {"kind": "trade_ban", "target_loss_share_gdp_per_year": 3.0}],
        "world.output.induced_multiplier": 500.0})
    with kernels.checking():  # the kernel and its numpy reference agree on the cap
        res = run(cfg)
    gdp_week = {c: cfg.world.countries[c].gdp_lcu_per_year / 52.0 for c in cfg.world.countries}
    week = res.country.groupby("country")["output_loss"].max()
    for c, loss in week.items():
        assert loss <= gdp_week[c] * (1 + 1e-12), c
    assert np.isclose(week["JP"], gdp_week["JP"])  # the cap binds for the target under a 300%-of-GDP ban


# ---------------------------------------------------------- property-based


def _paths(data, prefix=()):
    """Every key path of a nested config dict (tables, list items and leaves)."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from _paths(v, prefix + (k,))


def _deep(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _holder(data, path):
    for p in path[:-1]:
        data = data[p]
    return data


SWAPS = st.one_of(
    st.just(INF), st.just(-INF), st.just(NAN), st.booleans(), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=12),
    st.dates(), st.just([]), st.just({}), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(0, 3), max_size=2),
    st.integers(MAX_DEPTH - 2, 200).map(_deep),
)


@st.composite
def mutations(draw, base: dict):
    """A mutated copy of ``base`` and what was done: delete, rename or swap one key's value, or add
    a key, at any depth."""
    data = copy.deepcopy(base)
    paths = list(_paths(data))
    path = draw(st.sampled_from(paths))
    holder, key = _holder(data, path), path[-1]
    kind = draw(st.sampled_from(["delete", "rename", "swap", "swap", "swap", "add"]))
    if kind == "delete":
        if isinstance(holder, list):
            holder.pop(key)
        else:
            del holder[key]
    elif kind == "rename" and isinstance(holder, dict):
        holder[draw(st.text(min_size=1, max_size=8))] = holder.pop(key)
    elif kind == "add" and isinstance(holder, dict):
        holder[draw(st.text(min_size=1, max_size=8))] = draw(SWAPS)
    else:
        kind = "swap"
        holder[key] = draw(SWAPS)
    return data, f"{kind} {'.'.join(map(str, path))}"


def _file_level(draw, folder: Path, path: Path) -> str | None:
    """Sometimes damage the file itself: an include cycle, another encoding, unicode, deep brackets."""
    kind = draw(st.sampled_from([None] * 6 + ["cycle", "self", "utf-16", "latin-1", "bom", "brackets", "unicode"]))
    text = path.read_bytes()
    if kind == "cycle":
        (folder / "other.toml").write_text(f'include = "{path.name}"\n')
        path.write_bytes(b'include = "other.toml"\n' + text)
    elif kind == "self":
        path.write_bytes(f'include = "{path.name}"\n'.encode() + text)
    elif kind == "utf-16":
        path.write_bytes(text.decode().encode("utf-16"))
    elif kind == "latin-1":
        path.write_bytes(b"# caf\xe9\n" + text)
    elif kind == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + text)
    elif kind == "brackets":
        n = draw(st.integers(MAX_DEPTH, 3000))
        path.write_bytes(b"zz = " + b"[" * n + b"]" * n + b"\n" + text)
    elif kind == "unicode":
        path.write_bytes(f'"{draw(st.text(min_size=1, max_size=6))}" = 1\n'.encode("utf-8", "surrogatepass") + text)
    return kind


STRATEGY_DAMAGE = {
    "typo": "[levers.JP]\nstockpile_target_dayz = 60.0\n",
    "inf": "[levers.JP]\nstockpile_target_days = inf\n",
    "bool": "[levers.JP]\nstockpile_target_days = true\n",
    "range": "[levers.JP]\nstockpile_refill_share_per_week = 1.5\n",
    "country": "[levers.XX]\nstockpile_target_days = 60.0\n",
    "name": 'name = "../x"\n',
    "nesting": "[levers.JP]\nstockpile_target_days = " + "[" * 40 + "]" * 40 + "\n",
}


def _strategy_damage(draw, folder: Path) -> str | None:
    """Sometimes damage the experiment's strategy file (stock.toml)."""
    kind = draw(st.sampled_from([None] * 4 + sorted(STRATEGY_DAMAGE)))
    if kind is not None:
        (folder / "stock.toml").write_text(STRATEGY_DAMAGE[kind])
    return kind


def _check_error(exc: ConfigError, files: list[Path]) -> None:
    msg = str(exc)
    assert "\n" not in msg and "Traceback" not in msg
    assert any(f.name in msg for f in files) or exc.file in ("<config>",), msg


FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_fuzzed_configs_run_or_fail_in_one_line(capsys):
    outcomes: Counter = Counter()

    @FUZZ
    @given(data=st.data())
    def one(data):
        mutated, what = data.draw(mutations(TINY_DATA))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            try:
                path = write_config(folder, mutated, "cfg.toml")
            except (TypeError, ValueError, UnicodeEncodeError):
                outcomes["not writable as TOML (skipped)"] += 1
                return
            damage = _file_level(data.draw, folder, path)
            out = folder / "out"
            capsys.readouterr()
            code = main(["run", str(path), "--out", str(out), "--steps", "2", "--no-figures"])
            err = capsys.readouterr().err
            assert "Traceback" not in err, (what, damage, err)
            if code == 0:
                summary = json.loads((out / "summary.json").read_text(), parse_constant=_no_constants)
                assert summary["steps"] == 2
                outcomes["valid: ran"] += 1
            else:
                assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), (what, damage, err)
                assert "cfg.toml" in err or "other.toml" in err, err
                assert not out.exists(), (what, damage)
                outcomes["one-line error, exit 2"] += 1

    one()
    print(f"\nfuzzed configs: {sum(outcomes.values())} inputs: {dict(outcomes)}")
    assert outcomes["one-line error, exit 2"] > 0


def test_fuzzed_experiment_files_load_or_fail_in_one_line(capsys):
    outcomes: Counter = Counter()

    @FUZZ
    @given(data=st.data())
    def one(data):
        mutated, what = data.draw(mutations(EXPERIMENT))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            try:
                path = write_experiment(folder, mutated)
            except (TypeError, ValueError, UnicodeEncodeError):
                outcomes["not writable as TOML (skipped)"] += 1
                return
            damage = _file_level(data.draw, folder, path), _strategy_damage(data.draw, folder)
            try:
                exp = load_experiment(path)
            except ConfigError as exc:
                _check_error(exc, [path, *(folder / f for f in STRATEGY_FILES)])
                out = folder / "out"
                capsys.readouterr()
                assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
                err = capsys.readouterr().err
                assert err.count("\n") == 1 and "Traceback" not in err, (what, damage, err)
                assert not out.exists()
                outcomes["one-line error, exit 2"] += 1
                return
            assert exp.n_runs <= exp.execution.max_runs
            if exp.n_runs <= 2_000:
                assert len(design(exp)) == exp.n_runs
            outcomes["valid: loaded and designed"] += 1

    one()
    print(f"\nfuzzed experiments: {sum(outcomes.values())} inputs: {dict(outcomes)}")
    assert outcomes["one-line error, exit 2"] > 0

