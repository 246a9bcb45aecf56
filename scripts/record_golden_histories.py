"""Record golden histories: run every workflow type's main scenarios and write the missing history files.

    python scripts/record_golden_histories.py            # add files for new scenarios / new patches
    python scripts/record_golden_histories.py --force    # re-record every scenario (overwrites)
    python scripts/record_golden_histories.py -k Approval
    python scripts/record_golden_histories.py --export /tmp/current   # also every fresh history (replay bench)

The scenarios live in tests/replay/scenarios.py and run through the test suite's own fixtures (embedded
PostgreSQL, the time-skipping Temporal server, a worker); files land in tests/replay/histories/.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run tests/replay/test_scenarios.py in recording mode."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing files (only when no running workflow needs them)"
    )
    parser.add_argument("-k", dest="select", help="only scenarios matching this pytest -k expression")
    parser.add_argument("--export", type=Path, help="also write every fresh history to this folder")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["KX_RECORD_GOLDEN"] = "force" if args.force else "1"
    if args.export:
        os.environ["KX_EXPORT_HISTORIES"] = str(args.export.resolve())
    pytest_args = ["tests/replay/test_scenarios.py", "-q", "-p", "no:cacheprovider"]
    if args.select:
        pytest_args += ["-k", args.select]
    return int(pytest.main(pytest_args))


if __name__ == "__main__":
    raise SystemExit(main())
