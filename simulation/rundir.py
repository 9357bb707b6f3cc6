"""Writing a run folder atomically: the one writer of ``simulation run`` and of a sweep's runs.

A folder is written under a temporary sibling (``.<name>.tmp-<pid>-<thread>``), renamed into
place when every file is there, and (for a sweep's runs) a marker file is written last, so
a reader never sees half a run: a folder without its marker is unfinished.

A writer that is killed leaves its temporary (``.<name>.tmp-<pid>...``) behind: a sweep's
``--resume`` removes those whose process is dead (``simulation.sweep.store.clean_stale``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write a file under a temporary name, then rename it into place."""
    tmp = _tmp_name(path)
    try:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_marker(directory: Path, marker: str) -> str | None:
    """The text of ``directory/marker`` (stripped), or None when it is missing or empty."""
    try:
        text = (directory / marker).read_text().strip()
    except OSError:
        return None
    return text or None


def commit_dir(directory: Path, write_files: Callable[[Path], None], marker: str | None = None,
               status: str = "") -> bool:
    """Write a folder atomically: ``write_files(tmp)`` fills a temporary sibling, which is
    renamed to ``directory``; then ``marker`` (if given) is written with ``status``.

    An existing ``directory`` is replaced when it is unfinished: an empty folder (without a
    marker), or a folder without its marker (a rename whose marker never came). One that has
    its marker was finished meanwhile by another writer: the new files are dropped.

    Returns:
        False when the files were dropped, else True.
    """
    tmp = _tmp_name(directory)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_files(tmp)
        if directory.exists():
            if marker is None:
                directory.rmdir()  # an empty folder made beforehand; a full one is an error
            elif read_marker(directory, marker) is not None:  # finished meanwhile by another worker
                shutil.rmtree(tmp)
                return False
            else:
                shutil.rmtree(directory)  # a rename whose marker never came: redo
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if marker is not None:
        atomic_write(directory / marker, status + "\n")
    return True


def timestamped_dir(root: str | Path, stem: str) -> Path:
    """``root/<stem>-<timestamp>``, with a counter if that exists already."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    base = Path(root) / f"{stem}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path
