"""The directory prometheus_client's multiprocess mode shares between a start's processes.

Apart from ``metrics.py`` so that gunicorn's master, which only makes and cleans up
this directory, loads neither the models nor the database layer.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def fresh_multiprocess_dir() -> str:
    """A new directory for this start's metrics files, named after this process.

    Directories left by a start that was killed (its process is gone) are removed.
    """
    for old in Path(tempfile.gettempdir()).glob("widget-metrics-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"widget-metrics-{os.getpid()}-")


def use_multiprocess_dir(path: str) -> None:
    """Make this process and its children write metrics to ``path`` (before any is counted).

    prometheus_client reads the variable at import: where it is already imported (the
    command line may have done it), its value class is chosen again. gunicorn's master
    never imports it (3 MB): only its workers count.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # when a worker exits: rare

        multiprocess.mark_process_dead(pid)
