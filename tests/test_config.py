"""Bad input: one line naming the file, the key path and the problem; exit code 2."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.config import ConfigError, config_to_dict, dump_config, load_config
from tests.conftest import JAPAN, TINY


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tiny_with(tmp_path: Path, edit) -> Path:
    data = config_to_dict(load_config(TINY))
    edit(data)
    path = tmp_path / "bad.toml"
    import tomli_w

    path.write_bytes(tomli_w.dumps(data).encode())
    return path


CASES = {
    "unknown key": (lambda d: d["world"]["countries"]["JP"].update(gpd_lcu_per_year=1.0),
                    "world.countries.JP.gpd_lcu_per_year", "unknown key (did you mean 'gdp_lcu_per_year'?)"),
    "wrong type": (lambda d: d["world"]["countries"]["JP"].update(employment="many"),
                   "world.countries.JP.employment", "valid number"),
    "shares": (lambda d: d["world"]["countries"]["JP"]["commodities"]["ree"].update(
        import_shares={"CN": 0.5, "AU": 0.25}), "world.countries.JP.commodities.ree.import_shares",
        "shares sum to 0.75, not 1"),
    "negative stock": (lambda d: d["world"]["countries"]["JP"]["commodities"]["ree"].update(stockpile_days=-3.0),
                       "world.countries.JP.commodities.ree.stockpile_days", "greater than or equal to 0"),
    "date outside horizon": (lambda d: d["escalation"]["script"][0].update(date=dt.date(2031, 1, 1)),
                             "escalation.script[0].date", "outside the horizon"),
    "unknown country": (lambda d: d["world"]["countries"]["JP"]["commodities"]["ree"].update(
        import_shares={"CN": 0.75, "AUS": 0.25}), "world.countries.JP.commodities.ree.import_shares.AUS",
        "unknown country 'AUS' (did you mean 'AU'?)"),
    "unknown commodity": (lambda d: d["world"]["sectors"]["autos"].update(criticality={"reee": 1.0}),
                          "world.sectors.autos.criticality.reee", "unknown commodity 'reee'"),
    "steps beyond horizon": (lambda d: d["run"].update(steps=60), "run.steps", "exceed the horizon"),
    "unknown destination": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(destinations=["JP", "KOR"]),
                            "escalation.levels[1].measures[0].destinations", "unknown country 'KOR'"),
    "coercer as destination": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(destinations=["CN"]),
                               "escalation.levels[1].measures[0].destinations", "'CN' is the coercer"),
    "empty destinations": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(destinations=[]),
                           "escalation.levels[1].measures[0].destinations", "an empty list of destinations"),
    "unknown measure commodity": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(commodities=["gallum"]),
                                  "escalation.levels[1].measures[0].commodities", "unknown commodity 'gallum'"),
    "empty commodities": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(commodities=[]),
                          "escalation.levels[1].measures[0].commodities", "lists the commodities it covers"),
    "no commodities": (lambda d: d["escalation"]["levels"][1]["measures"][0].pop("commodities"),
                       "escalation.levels[1].measures[0].commodities", "lists the commodities it covers"),
    "old scope": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(commodities="dual_use"),
                  "escalation.levels[1].measures[0].commodities", "list"),
    "quota toward the target": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(instrument="quota"),
                                "escalation.levels[1].measures[0].destinations", "use \"all\""),
    "quota without ceilings": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(
        instrument="quota", destinations="all"), "escalation.levels[1].measures[0].quota_t_per_year",
        "a yearly ceiling for each of its commodities"),
    "unknown instrument": (lambda d: d["escalation"]["levels"][1]["measures"][0].update(instrument="embargo"),
                           "escalation.levels[1].measures[0].instrument", "'licensing', 'ban' or 'quota'"),
    "record lifted before effect": (lambda d: d["escalation"].update(record=[{
        "name": "x", "announced": "2026-01-02", "effective": "2026-01-09", "lifted": "2026-01-05",
        "kind": "export_control", "commodities": ["ree"], "destinations": "all"}]),
        "escalation.record[0].lifted", "not after the effective date"),
    "effective before announced": (lambda d: d["escalation"]["script"][0].update(effective_date="2025-12-01"),
                                   "escalation.script[0].effective_date", "must lie between the announcement"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_names_file_key_and_problem(tmp_path, case, capsys):
    edit, key, problem = CASES[case]
    path = tiny_with(tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {key}: ") or msg.startswith(f"{path.name}: {key}: ") or f": {key}: " in msg
    assert problem in msg
    assert "\n" not in msg
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out)])
    err_text = capsys.readouterr().err
    assert code == 2
    assert err_text.count("\n") == 1 and key in err_text
    assert not out.exists()  # nothing written


def test_missing_file_and_malformed_toml(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: file not found" in capsys.readouterr().err
    bad = write(tmp_path, "[scenario\nname = 1\n")
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "malformed TOML" in err and err.count("\n") == 1


def test_errors_in_an_included_file_name_that_file(tmp_path):
    text = TINY.read_text().replace('strategy = "baseline"', "").replace("scale = 1.0", "scale = -1.0")
    (tmp_path / "world.toml").write_text(text)
    top = write(tmp_path, 'include = "world.toml"\n[run]\nseed = 3\n', "top.toml")
    with pytest.raises(ConfigError) as err:
        load_config(top)
    assert "world.toml: world.firms.scale:" in str(err.value)


def test_unknown_strategy_and_bad_command_line(capsys):
    assert main(["run", str(TINY), "--strategy", "no_such"]) == 2
    assert "unknown strategy 'no_such'" in capsys.readouterr().err
    assert main(["run", str(TINY), "--steps", "zero"]) == 2
    err = capsys.readouterr().err
    assert "--steps" in err and err.count("\n") == 1


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(JAPAN)
    dump_config(cfg, tmp_path / "config.toml")
    again = load_config(tmp_path / "config.toml")
    assert again == cfg


def test_cli_module_entry_point_reports_bad_config(tmp_path):
    out = subprocess.run([sys.executable, "-m", "simulation", "run", "configs/does-not-exist.toml"],
                         capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: configs/does-not-exist.toml: file not found"
    assert "Traceback" not in out.stderr
