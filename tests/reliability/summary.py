"""The counts each reliability suite reports, kept as JSON so one table can close a run.

    record("fuzz-openapi", {"requests": 812, "5xx": 0}, findings=[...])   # in a test
    python -m tests.reliability.summary                                    # the table

Files go to ``$DANVAN_DATA_DIR/reliability/<suite>.json`` (``.data`` by default); each run
of a suite overwrites its file, and the table names the scale and time of each.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.reliability.scale import current


def folder() -> Path:
    return Path(os.environ.get("DANVAN_DATA_DIR") or ".data").resolve() / "reliability"


def record(suite: str, counts: Mapping[str, int | float], *,
           findings: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Write the suite's counts (and what it found) before the test asserts on them."""
    path = folder() / f"{suite}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "suite": suite, "scale": current().name, "at": datetime.now(UTC).isoformat(),
        "counts": dict(counts), "findings": list(findings)}, ensure_ascii=False, indent=1,
        default=str), encoding="utf-8")
    return path


def table(paths: Sequence[Path]) -> str:
    lines = [f"{'suite':<18} {'scale':<6} {'findings':>8}  counts"]
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        counts = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:,.1f}"
                           for k, v in data["counts"].items())
        lines.append(f"{data['suite']:<18} {data['scale']:<6} {len(data['findings']):>8}  "
                     f"{counts}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    paths = sorted(folder().glob("*.json"))
    if not paths:
        print(f"no reliability results in {folder()}")
        return 1
    print(table(paths))
    if "--findings" in argv:
        for path in paths:
            data = json.loads(path.read_text(encoding="utf-8"))
            for finding in data["findings"]:
                print(f"\n[{data['suite']}] " + json.dumps(finding, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
