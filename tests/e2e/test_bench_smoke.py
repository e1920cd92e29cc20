"""``danvan bench`` runs to its end: each cheap area, shortened, against the test cluster, prints
its rows as JSON, and every row judged against a target carries the baseline measured in the
same run (what the figures in the closing notes and docs/scaling.md come from). Nothing here
judges a speed: the machine's speed is no test's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import admin_url

ROOT = Path(__file__).resolve().parents[2]
DANVAN = str(Path(sys.executable).with_name("danvan"))

AREAS = {
    "commands": (["--clients", "2", "--seconds", "1", "--rounds", "1", "--warmup", "0",
                  "--projector"],
                 {"commands.throughput", "commands.latency_p99", "commands.failed",
                  "projections.live_lag_p99"}),
    "projections": (["--events", "3000", "--baseline-events", "500", "--live-seconds", "1",
                     "--fresh"],
                    {"projections.catch_up", "projections.rebuild", "projections.runner_rss"}),
    "jobs": (["--processes", "1", "--threads", "2", "--jobs", "200", "--rate", "50",
              "--seconds", "1"],
             {"jobs/s outbox to done (1 proc x 2 thr)"}),
}


@pytest.mark.parametrize("area", sorted(AREAS))
def test_a_bench_area_runs_to_its_end_with_its_baselines(area: str) -> None:
    options, expected = AREAS[area]
    env = {**os.environ, "DANVAN_BENCH_DATABASE_URL": admin_url()}
    done = subprocess.run([DANVAN, "bench", area, *options, "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout)
    assert expected <= {row["figure"] for row in rows}, [row["figure"] for row in rows]
    for row in rows:
        assert isinstance(row["value"], int | float), row
        if row["ratio"] is not None:  # a ratio is against a baseline of the same run
            assert row["baseline"] and row["baseline_value"], row
