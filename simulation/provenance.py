"""What produced a result: package versions, git commit, Python (and the machine, for benchmarks).

One reader for run manifests, sweep manifests and the benchmark results.
"""

from __future__ import annotations

import copy
import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project folder (a git checkout, or not)
RUN_PACKAGES = ("mesa", "numpy", "pandas", "networkx", "pydantic", "matplotlib")


def _git(*args: str) -> str | None:
    """``git -C ROOT ARGS`` output, stripped; None when git or the checkout is missing."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def environment(packages: tuple[str, ...] = RUN_PACKAGES, *, machine: bool = False) -> dict:
    """Package version, git commit, Python and the versions of ``packages`` (for manifests).

    Read once per process (the code running is the code imported): a sweep's worker writes
    hundreds of manifests, and each reading costs a ``git`` call and package lookups.

    Args:
        packages: the libraries whose versions are listed (None when not installed).
        machine: also the machine and this moment (benchmarks): ``git_dirty`` (tracked files
            changed), ``machine``, ``cpus``, ``processor``, ``load_average_1_5_15``; read anew.
    """
    env = copy.deepcopy(_environment(packages))
    if machine:
        status = _git("status", "--porcelain", "--untracked-files=no")
        env.update({"git_dirty": None if status is None else bool(status), "load_average_1_5_15": os.getloadavg(),
                    "machine": platform.machine(), "cpus": os.cpu_count(),
                    "processor": platform.processor() or None})
    return env


@functools.cache
def _environment(packages: tuple[str, ...]) -> dict:
    versions = {}
    for pkg in ("coercion-sim", *packages):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "package": "coercion-sim",
        "version": versions.pop("coercion-sim"),
        "git_commit": _git("rev-parse", "HEAD") or None,
        "python": platform.python_version(),
        "packages": versions,
    }
