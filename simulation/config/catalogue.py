"""The uncertainty catalogue (``configs/uncertainties.toml``): every parameter labelled an
assumption with its range and reasoning, every sourced one with its source.

An entry names one or more dotted config paths (``*`` stands for every key of a table,
e.g. ``world.commodities.*.price_flexibility``), the value the shipped scenarios use, its
unit and range, what kind of number it is (``sourced``, ``assumption``, ``calibrated``)
and the quality of its evidence. Entries marked ``sample = true`` are the ones the global
sensitivity analysis samples (``uncertainties_from`` in an experiment file).

:func:`check_catalogue` compares the catalogue with a loaded config (paths exist, values
agree, ranges hold them); the tests run it on the shipped scenarios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from simulation.config.dotted import get_dotted
from simulation.config.errors import ConfigError, validation_error
from simulation.config.loading import read_toml
from simulation.config.schema import Config, Flag, Number, Strict

QUALITY = {
    "A": "official statistic or primary record (customs data, a government announcement, a company report)",
    "B": "literature or secondary reporting (studies, industry analysts, press)",
    "C": "assumption: a judgement with a stated range",
    "D": "calibrated: fitted to the fit set (docs/calibration.md)",
}


class Parameter(Strict):
    """One catalogue entry."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str
    path: str | list[str] = Field(description="Dotted config path(s); '*' matches every key of a table.")
    value: Number
    unit: str
    low: Number
    high: Number
    kind: Literal["sourced", "assumption", "calibrated"]
    quality: Literal["A", "B", "C", "D"]
    source: str = ""
    reasoning: str = ""
    sample: Flag = Field(False, description="Sampled in the global sensitivity analysis.")
    integer: Flag = False

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        if not self.low <= self.value <= self.high or not self.low < self.high:
            raise ValueError(f"need low < high and low <= value <= high (got {self.low}, {self.value}, {self.high})")
        if self.kind == "sourced" and not self.source:
            raise ValueError("a sourced parameter needs its source")
        if self.kind in ("assumption", "calibrated") and not self.reasoning:
            raise ValueError(f"an {self.kind} parameter needs the reasoning for its range")
        return self

    def paths_in(self, cfg: Config) -> list[str]:
        """The concrete paths in ``cfg`` (every ``*`` expanded over the keys of its table)."""
        out: list[str] = []
        for path in self.paths:
            out += _expand(cfg, path.split("."))
        return out


class Catalogue(Strict):
    parameters: list[Parameter]


def _expand(cfg: Config, parts: list[str]) -> list[str]:
    if "*" not in parts:
        return [".".join(parts)]
    i = parts.index("*")
    table = get_dotted(cfg, ".".join(parts[:i]))
    keys = list(table) if isinstance(table, dict) else []
    return [p for k in keys for p in _expand(cfg, [*parts[:i], str(k), *parts[i + 1:]])]


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file (one-line :class:`ConfigError` naming the key)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "", "file not found")
    data = read_toml(path)
    try:
        cat = Catalogue.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, str(path), Catalogue) from None
    names = [p.name for p in cat.parameters]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(str(path), f"parameters[{i}].name", f"'{n}' is used twice")
    return cat


def check_catalogue(cat: Catalogue, cfg: Config) -> list[str]:
    """What disagrees between the catalogue and ``cfg``: one line per problem (none: agrees)."""
    problems = []
    for p in cat.parameters:
        paths = p.paths_in(cfg)
        if not paths:
            problems.append(f"{p.name}: no path of {p.paths} exists")
        for path in paths:
            try:
                value = get_dotted(cfg, path)
            except KeyError:
                problems.append(f"{p.name}: '{path}' does not exist")
                continue
            if not _same(value, p.value):
                problems.append(f"{p.name}: '{path}' is {value!r} in the config, {p.value!r} in the catalogue")
    return problems


def _same(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    except (TypeError, ValueError):
        return a == b


def as_uncertainties(cat: Catalogue, cfg: Config, select: list[str] | None = None) -> list[dict]:
    """The catalogue's sampled entries (or those named in ``select``) as experiment
    uncertainties: name, concrete paths, range, label."""
    chosen = [p for p in cat.parameters if p.sample] if select is None else \
        [next(p for p in cat.parameters if p.name == n) for n in select]
    return [{"name": p.name, "path": p.paths_in(cfg), "low": p.low, "high": p.high, "integer": p.integer,
             "label": f"{p.label} ({p.unit}; {p.kind}, quality {p.quality})"} for p in chosen]
