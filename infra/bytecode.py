"""Compiled bytecode for the worker's workflow sandbox."""

from __future__ import annotations

import sys
from pathlib import Path


def cache_bytecode(data_dir: str | Path) -> None:
    """Keep compiled bytecode under data_dir so the workflow sandbox does not recompile workflow modules per run.

    The sandbox re-imports a workflow's modules for every run it starts (and after every cache eviction). With
    PYTHONDONTWRITEBYTECODE (set in our image) or read-only sources nothing is cached, and each re-import
    compiled service_ticket.py and human_tasks.py from source: a sixth of the worker's CPU under load.
    """
    if sys.pycache_prefix is None:
        sys.pycache_prefix = str(Path(data_dir, "pycache").resolve())
    sys.dont_write_bytecode = False
