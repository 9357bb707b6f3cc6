"""Shared fixtures: the tiny test world and helpers to edit configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.config import Config, config_from_dict, config_to_dict, load_config, set_dotted

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
TINY = DATA / "tiny.toml"
JAPAN = ROOT / "configs" / "scenarios" / "japan_2026.toml"
KOREA = ROOT / "configs" / "scenarios" / "korea_coerced.toml"


@pytest.fixture
def tiny() -> Config:
    return load_config(TINY)


def edited(config: Config, **dotted) -> Config:
    """A copy of ``config`` with dotted-path values replaced (``a__b`` for ``a.b``)."""
    data = config_to_dict(config)
    for key, value in dotted.items():
        set_dotted(data, key.replace("__", "."), value)
    return config_from_dict(data)


def refused(capsys, code: int, *fragments: str) -> str:
    """Exit code 2 and one line on stderr, no traceback, containing every fragment."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty working directory (the project's configs are found through the package)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd
