"""The worker keeps compiled bytecode even under PYTHONDONTWRITEBYTECODE, so the sandbox does not recompile per run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cache_bytecode_writes_under_the_data_dir_despite_dont_write_bytecode(tmp_path):
    """A module imported after cache_bytecode() leaves its .pyc under <data_dir>/pycache, nowhere else."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "some_workflow_module.py").write_text("VALUE = 42\n")
    script = (
        "import sys; from infra.bytecode import cache_bytecode\n"
        f"cache_bytecode({str(tmp_path / 'data')!r}); sys.path.insert(0, {str(source)!r})\n"
        "import some_workflow_module; assert some_workflow_module.VALUE == 42\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
    cached = list((tmp_path / "data" / "pycache").rglob("some_workflow_module.*.pyc"))
    assert len(cached) == 1
    assert not (source / "__pycache__").exists()
