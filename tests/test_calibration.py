"""Calibration and validation: the published estimates are reproduced by one calibration; a broken
profile is caught; the test set is kept apart from calibration and reported honestly."""

from __future__ import annotations

import builtins
import io
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from simulation import calibration, validation
from simulation.calibration import TOLERANCE, calibrate, load_cases, validate, validation_dir
from simulation.cli import main
from simulation.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
CAL = ROOT / "configs" / "calibration"
# the only world settings in which the two views may differ: behaviour (DESIGN section 6)
BEHAVIOUR = ("output.leontief_share", "transshipment.max_reroute_share", "diversification.shift_share_per_week",
             "investment.response_share_per_year", "projects")
# the published estimates' own scenario, stated by a case file (NRI: no release of Japan's state stockpile)
CASE_CONDITIONS = {"countries.JP.policy.stockpile_max_release_share_per_week"}


def test_every_published_figure_within_tolerance_over_20_seeds():
    checks = validate(n_seeds=20)
    assert len(checks) == 10  # 4 cases x (GDP %, yen) + 2 jobs figures
    bad = [(c.case.name, c.measure, round(c.error, 3)) for c in checks if not c.ok]
    assert not bad
    assert all(c.low <= c.mean <= c.high for c in checks)


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def test_two_views_differ_only_in_behaviour_and_share_one_multiplier():
    views = {c.profile for c in load_cases()}
    assert views == {"adaptive", "fixed_coefficient"}
    a = load_config(CAL / "nri_12m.toml")
    d = load_config(CAL / "daiwa_ree_12m.toml")
    assert a.escalation.levels == d.escalation.levels  # the same shock machinery
    assert a.world.output.leontief_share == 0.0 and d.world.output.leontief_share == 1.0
    assert a.world.output.induced_multiplier == d.world.output.induced_multiplier  # one multiplier
    assert a.world.firms.inventory_days_scale == d.world.firms.inventory_days_scale
    wa, wd = _flat(a.world.model_dump()), _flat(d.world.model_dump())
    differ = {k for k in wa.keys() | wd.keys() if wa.get(k) != wd.get(k)}
    allowed = {k for k in differ if k.startswith(BEHAVIOUR) or k.endswith(".substitutability_share")
               or k in CASE_CONDITIONS}
    assert differ == allowed, sorted(differ - allowed)
    assert {k for k in differ if k.endswith(".substitutability_share")}  # the negative control: they do differ


def test_the_shipped_scenarios_run_the_adaptive_profile_as_fitted():
    """Fitted with the settings it ships with: the shipped scenarios' world is the adaptive cases' world,
    but for the published estimates' own scenario (no release of Japan's state stockpile), a condition
    of each case file, not of the profile."""
    case = _flat(load_config(CAL / "nri_12m.toml").world.model_dump())
    assert case["countries.JP.policy.stockpile_max_release_share_per_week"] == 0.0
    for name in ("japan_2026", "korea_coerced", "record_2023_2026"):
        shipped = _flat(load_config(ROOT / "configs" / "scenarios" / f"{name}.toml").world.model_dump())
        differ = {k for k in case.keys() | shipped.keys() if case.get(k) != shipped.get(k)}
        assert differ == CASE_CONDITIONS, (name, sorted(differ))
        assert shipped["countries.JP.policy.stockpile_max_release_share_per_week"] > 0  # released as shipped


def test_a_broken_shared_multiplier_fails_validation_and_the_exit_code(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    shared = configs / "calibration" / "profiles" / "shared_fitted.toml"
    text = shared.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("induced_multiplier"))
    value = float(line.split("=")[1])
    shared.write_text(text.replace(line, f"induced_multiplier = {value * 4}"))  # far outside the tolerance
    checks = validate(configs / "calibration", n_seeds=2)
    failed = {c.case.name for c in checks if not c.ok}
    assert failed == {c.name for c in load_cases()}  # one multiplier: every case of both views moves
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(validation, "run_test_set", lambda **_: [])  # the test set is not the point here
    assert main(["validate", "--seeds", "2", "--report", str(tmp_path / "cal.md")]) == 1
    assert "| NO |" in (tmp_path / "cal.md").read_text()


def test_bad_cases_file_is_one_line(tmp_path):
    (tmp_path / "cases.toml").write_text('[[cases]]\nname = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_cases(tmp_path)
    assert "cases.toml: cases.0.label" in str(err.value)
    assert 0 < TOLERANCE < 1


# ------------------------------------------------------------------ the test set, kept apart


def test_the_case_loader_refuses_the_test_set(tmp_path):
    with pytest.raises(ConfigError, match="calibration never reads the test set"):
        load_cases(validation_dir())
    with pytest.raises(ConfigError, match="calibration never reads the test set"):
        load_cases(validation_dir() / "anything")
    shutil.copy(validation_dir() / "cases.toml", tmp_path / "cases.toml")  # a copy elsewhere, still marked
    with pytest.raises(ConfigError, match="cases.toml: set: a test-set file"):
        load_cases(tmp_path)


@pytest.fixture
def opened(monkeypatch) -> list[Path]:
    """Every file opened through open() / io.open() / pathlib while the fixture is active."""
    seen: list[Path] = []
    real = io.open

    def recording(file, *args, **kwargs):
        if isinstance(file, str | Path):
            seen.append(Path(file).resolve())
        return real(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", recording)
    monkeypatch.setattr(builtins, "open", recording)
    return seen


def test_calibrate_never_reads_the_test_set(tmp_path, opened):
    test_dir = validation_dir().resolve()
    validation.load_test_set()  # the negative control: the recorder sees a test-set read
    assert any(test_dir in p.parents for p in opened)
    opened.clear()
    fitted = calibrate(seeds=(1,), out=tmp_path, scale_grid=(0.5,), reroute_grid=(0.4,), refine_rounds=0)
    assert set(fitted) == {"adaptive", "fixed_coefficient"}
    assert any(CAL.resolve() in p.parents for p in opened)  # it did read its own cases and scenarios
    assert not [p for p in opened if test_dir in p.parents or p == test_dir]
    # one multiplier for both views, in one file the view files include
    assert len({f["induced_multiplier"] for f in fitted.values()}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adaptive_fitted.toml", "fixed_coefficient_fitted.toml",
                                                          "shared_fitted.toml"]


def test_the_test_set_is_complete_and_sourced():
    episodes = validation.load_test_set()
    assert {"rare_earth_2010", "urea_2021"} <= {e.name for e in episodes}
    for ep in episodes:
        for c in ep.checks:
            assert c.source
            if not c.expressible:
                assert c.reason
                continue
            assert c.low <= c.high and c.start <= c.end
            path = validation_dir() / c.scenario
            assert path.resolve().parent == validation_dir().resolve()  # test-set scenarios live in the test set
            cfg = load_config(path)
            assert c.country in cfg.world.countries
            assert c.commodity is None or c.commodity in cfg.world.commodities
    names = [c.name for ep in episodes for c in ep.checks]
    assert len(names) == len(set(names))


def test_a_test_set_file_without_its_mark_or_band_is_one_line(tmp_path):
    (tmp_path / "cases.toml").write_text('[[episodes]]\nname = "x"\n')
    with pytest.raises(ConfigError, match='cases.toml: set: a test-set file says set = "test"'):
        validation.load_test_set(tmp_path)
    text = (validation_dir() / "cases.toml").read_text().replace("low = 4.0\n", "", 1)
    (tmp_path / "cases.toml").write_text(text)
    with pytest.raises(ConfigError, match="cases.toml: episodes.0.checks.0: .*missing low"):
        validation.load_test_set(tmp_path)


def _rows(prices, inside, shares, start=date(2010, 1, 1)):
    days = pd.date_range(start, periods=len(prices), freq="7D").date
    return pd.DataFrame({"date": [d.isoformat() for d in days], "country": "JP", "commodity": "nd_pr",
                         "price": prices, "price_china": inside, "china_share": shares})


def test_measures_by_hand():
    check = validation.EpisodeCheck(name="c", scenario="s.toml", measure="price_multiple_max", country="JP",
                                    commodity="nd_pr", start=date(2010, 1, 15), end=date(2010, 2, 5),
                                    published=3.0, low=1.0, high=9.0, source="hand")
    cc = _rows([10.0, 10.0, 30.0, 50.0, 20.0, 40.0, 500.0], [8.0, 8.0, 8.0, 16.0, 8.0, 8.0, 8.0],
               [0.9, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1])
    calm = date(2010, 1, 15)  # the weeks of 1 and 8 January: outside 10, inside 8
    # window: weeks of 15, 22, 29 January and 5 February (the last week, 12 February, is outside)
    assert validation.measure(check, calm, cc, {}, date(2010, 1, 1)) == pytest.approx(5.0)
    ratio = check.model_copy(update={"measure": "outside_inside_ratio"})
    assert validation.measure(ratio, calm, cc, {}, date(2010, 1, 1)) == pytest.approx((3 + 5 / 2 + 2 + 4) / 4)
    share = check.model_copy(update={"measure": "china_share_mean"})
    assert validation.measure(share, calm, cc, {}, date(2010, 1, 1)) == pytest.approx((0.5 + 0.4 + 0.3 + 0.2) / 4)
    conceded = check.model_copy(update={"measure": "conceded_by"})
    yes = {"escalation": {"conceded": True, "concession_week": 5}}  # 2010-02-05: on the last day
    late = {"escalation": {"conceded": True, "concession_week": 6}}
    assert validation.measure(conceded, calm, cc, yes, date(2010, 1, 1)) == 1.0
    assert validation.measure(conceded, calm, cc, late, date(2010, 1, 1)) == 0.0
    assert validation.measure(conceded, calm, cc, {"escalation": {"conceded": False}}, date(2010, 1, 1)) == 0.0


def test_validate_prints_both_sets_and_a_failing_test_set_does_not_fail_it(tmp_path, monkeypatch, capsys):
    ep = validation.load_test_set()[0]
    check = next(c for c in ep.checks if c.expressible)
    outside = check.high * 2  # a test-set miss
    monkeypatch.setattr(validation, "run_test_set",
                        lambda **_: [validation.EpisodeResult(ep, check, outside, outside, outside)])
    ok = calibration.load_cases()[0]
    monkeypatch.setattr(calibration, "validate", lambda **_: [
        calibration.Check(ok, "gdp_pct", ok.gdp_pct, ok.gdp_pct, ok.gdp_pct, ok.gdp_pct)])
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--report", str(tmp_path / "cal.md")]) == 0
    out = capsys.readouterr().out
    assert "Fit set" in out and "Test set" in out and "| FAIL |" in out
    assert "test set: 0 passed, 1 failed" in out
    report = (tmp_path / "cal.md").read_text()
    assert "## Test set: out of sample" in report and f"| {check.name} |" in report and "| FAIL |" in report


def test_the_test_set_runs_with_one_seed():
    results = validation.run_test_set(n_seeds=1)
    episodes = validation.load_test_set()
    assert len(results) == sum(len(ep.checks) for ep in episodes)
    for r in results:
        if r.check.expressible:
            assert r.status in ("pass", "FAIL") and r.low <= r.mean <= r.high
        else:
            assert r.status == "not expressible" and r.mean is None


def test_a_bad_test_set_stops_validate_before_anything_runs(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    cases = tmp_path / "configs" / "validation" / "cases.toml"
    cases.write_text(cases.read_text().replace('set = "test"', 'set = "fit"'))
    monkeypatch.chdir(tmp_path)  # the working directory's configs/ are the ones the commands use

    def no_call(**_):
        raise AssertionError("the fit set ran")

    monkeypatch.setattr(calibration, "validate", no_call)
    assert main(["validate", "--out", "v"]) == 2
    err = capsys.readouterr().err
    assert "cases.toml: set: a test-set file says set = \"test\"" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()


def edited_test_set(tmp_path, check: str, *edits: tuple[str, str]):
    """A copy of the shipped configs whose test-set check ``check`` has each (old, new) of ``edits``
    made once, from the check's name on; returns the copy's test-set folder."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    cases = tmp_path / "configs" / "validation" / "cases.toml"
    text = cases.read_text()
    start = text.index(f'name = "{check}"')
    head, tail = text[:start], text[start:]
    for old, new in edits:
        tail = tail.replace(old, new, 1)
    cases.write_text(head + tail)
    return cases.parent


def test_a_check_window_outside_its_scenario_is_one_line(tmp_path):
    folder = edited_test_set(tmp_path, "kr_urea_price_peak", ("start = 2021-10-15", "start = 2030-01-01"),
                             ("end = 2022-03-31", "end = 2030-12-31"))
    with pytest.raises(ConfigError, match=r"cases.toml: episodes.1.checks.0: kr_urea_price_peak: no weeks"):
        validation.run_test_set(folder, n_seeds=1)


def test_an_exports_check_names_the_coercer(tmp_path):
    folder = edited_test_set(tmp_path, "ga_exports_aug_sep_2023", ('country = "CN"', 'country = "JP"'))
    with pytest.raises(ConfigError, match=r"cases.toml: episodes.2.checks.0.country: exports_ratio reads the "
                                          r"coercer's exports: 'CN' in record_2023_2025.toml, not 'JP'"):
        validation.run_test_set(folder, n_seeds=1)
