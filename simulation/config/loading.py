"""Reading config files: includes, strategies by name, overrides, and writing the resolved form.

A config file is TOML; it may pull in other files with a top-level ``include = "path"`` (or
a list of paths: deep-merged, the including file wins) and may name its strategy by name
(``strategy = "baseline"``, looked up in ``configs/strategies/``). :func:`load_config`
resolves all of that into one :class:`~simulation.config.schema.Config`; :func:`dump_config`
writes the fully resolved form, which loads back to an identical config (``simulation run
runs/X/config.toml`` reproduces run X).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from simulation.config.checks import check_config
from simulation.config.dotted import set_dotted
from simulation.config.errors import ConfigError, rel_path, validation_error
from simulation.config.schema import Config

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the simulation package (this file is in its config/)
PROJECT_CONFIGS = PACKAGE_ROOT.parent / "configs"
DEFAULT_SCENARIO = "configs/scenarios/japan_2026.toml"


def _deep_merge(base: dict, top: dict, prov: dict, top_file: str, path: tuple = ()) -> dict:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v, prov, top_file, path + (k,))
        else:
            out[k] = v
            prov[path + (k,)] = top_file
    return out


def _record(data: Any, prov: dict, file: str, path: tuple = ()) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            prov[path + (k,)] = file
            _record(v, prov, file, path + (k,))


MAX_DEPTH = 32  # deepest nesting of tables and arrays a config or experiment file may have
MAX_INCLUDE_DEPTH = 16  # longest chain of includes


def _depth(data: Any) -> int:
    """How deep tables and arrays nest in ``data`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, dict | list):
            d += 1
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:  # deeper than that is refused anyway
                stack.extend((v, d) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_toml(path: Path, referrer: str | None = None, key: str = "") -> dict:
    """Read a TOML file as a dict; any problem (missing, unreadable, not UTF-8, malformed,
    nested deeper than :data:`MAX_DEPTH`) is one :class:`ConfigError` line naming the file."""
    if not path.is_file():
        where = referrer or str(path)
        raise ConfigError(where, key, f"file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text (byte {exc.start}): a config file is TOML, in UTF-8") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"malformed TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or _depth(data) > MAX_DEPTH:
        raise ConfigError(path, "", f"tables and arrays nest deeper than {MAX_DEPTH} levels")
    return data


def _load_with_includes(path: Path, prov: dict, seen: tuple[Path, ...] = ()) -> dict:
    """``path`` with its includes merged in; ``seen``: the files that include it (a cycle is an error)."""
    data = read_toml(path, str(seen[-1]) if seen else None, "include" if seen else "")
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(path, "include", "must be a path or a list of paths")
    chain = seen + (path,)
    if includes and len(chain) > MAX_INCLUDE_DEPTH:
        raise ConfigError(path, "include", f"includes nest deeper than {MAX_INCLUDE_DEPTH} files")
    merged: dict = {}
    for inc in includes:
        try:
            inc_path = (path.parent / inc).resolve()
        except (OSError, ValueError) as exc:
            raise ConfigError(path, "include", f"bad path {inc!r}: {exc}") from None
        if inc_path in chain:
            loop = " -> ".join(p.name for p in chain[chain.index(inc_path):] + (inc_path,))
            raise ConfigError(path, "include", f"circular include of {inc} ({loop})")
        if not inc_path.is_file():
            raise ConfigError(path, "include", f"file not found: {inc}")
        sub = _load_with_includes(inc_path, prov, chain)
        merged = _deep_merge(merged, sub, prov, str(inc_path))
    _record(data, prov, str(path))
    return _deep_merge(merged, data, prov, str(path))


def configs_root(config_file: Path | None = None) -> Path:
    """The ``configs/`` folder a config file lives under, else the project's."""
    if config_file is not None:
        for parent in Path(config_file).resolve().parents:
            if parent.name == "configs":
                return parent
    cwd_configs = Path.cwd() / "configs"
    return cwd_configs if cwd_configs.is_dir() else PROJECT_CONFIGS


def find_strategy(name: str, config_file: Path | None = None) -> Path | None:
    """Locate a strategy file from a name (``stockpile_100``) or a path."""
    candidates = [Path(name)]
    if config_file is not None:
        candidates.append(Path(config_file).parent / name)
    stem = name if name.endswith(".toml") else f"{name}.toml"
    candidates += [configs_root(config_file) / "strategies" / stem, PROJECT_CONFIGS / "strategies" / stem]
    return next((c for c in candidates if c.is_file()), None)


def load_config(
    path: str | Path | None = None,
    *,
    seed: int | None = None,
    steps: int | None = None,
    strategy: str | Path | None = None,
    params: dict[str, Any] | None = None,
) -> Config:
    """Load, resolve and validate a config file.

    Args:
        path: a scenario or resolved config (TOML). Defaults to
            ``configs/scenarios/japan_2026.toml``.
        seed: overrides ``run.seed``.
        steps: overrides ``run.steps`` (weeks).
        strategy: a strategy name or file, replacing the config's strategy.
        params: dotted-path overrides, e.g. ``{"world.output.induced_multiplier": 1.5}``.

    Returns:
        The validated :class:`Config`.

    Raises:
        ConfigError: one line naming the file, the key path and the problem.
    """
    if path is None:
        path = Path(DEFAULT_SCENARIO)
        if not path.is_file():
            path = PROJECT_CONFIGS / "scenarios" / "japan_2026.toml"
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    prov: dict = {}
    data = _load_with_includes(path.resolve(), prov)
    file = rel_path(path)

    strat_ref = strategy if strategy is not None else data.get("strategy", "baseline")
    if isinstance(strat_ref, str | Path):
        found = find_strategy(str(strat_ref), path)
        if found is None:
            key = "--strategy" if strategy is not None else "strategy"
            raise ConfigError(file, key, f"unknown strategy '{strat_ref}' (no file in configs/strategies/)")
        sdata = read_toml(found, file, "strategy")
        data["strategy"] = sdata
        _record(sdata, prov, str(found), ("strategy",))
        prov[("strategy",)] = str(found)
    run = data.setdefault("run", {})
    if not isinstance(run, dict):
        raise ConfigError(file, "run", "must be a table")
    if seed is not None:
        run["seed"] = seed
    if steps is not None:
        run["steps"] = steps
    for dotted, value in (params or {}).items():
        set_dotted(data, dotted, value)
        prov[tuple(int(p) if p.isdigit() else p for p in dotted.split("."))] = "<override>"
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, prov, str(path)) from None
    check_config(config, file, prov)
    return config


def config_from_dict(data: dict, file: str = "<config>") -> Config:
    """Validate an already-resolved config dict (as written by :func:`dump_config`)."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, file) from None
    check_config(config, file, {})
    return config


def config_to_dict(config: Config) -> dict:
    """The config as plain nested dicts (``None`` left out), as :func:`dump_config` writes it."""
    return config.model_dump(mode="python", exclude_none=True)


def dump_config(config: Config, path: str | Path) -> None:
    """Write the fully resolved config as TOML (loads back to an identical config)."""
    with Path(path).open("wb") as fh:
        tomli_w.dump(config_to_dict(config), fh)

