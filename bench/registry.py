"""The areas of ``danvan bench`` and the one shape of their results.

    danvan bench [AREA|all] [--scale small|province|national] [--json] [AREA's own options]

Each area is a module of ``bench/`` that defines::

    DESCRIPTION = "one line"

    def add_arguments(parser: argparse.ArgumentParser) -> None:   # its own options
        parser.add_argument("--seconds", type=float, default=30)

    def run(args: argparse.Namespace) -> list[Figure]:            # args.scale, args.json too
        ...

To add one (projections, graphql, audit, ...), write the module and add a line to ``AREAS``;
``danvan bench AREA`` and ``danvan bench all`` then run it. Area modules are imported by
every ``danvan`` invocation (to declare their options), so keep their top level light:
import heavy dependencies inside ``run``, as ``backend/commands/*.py`` do.

Every figure is printed as one row ``figure, value, unit, baseline, baseline_value, ratio,
target, met`` (API.md), the baseline measured in the same run; ``--json`` prints the same rows
as a JSON list of objects with those keys.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

SCALES = ("small", "province", "national")
COLUMNS = ("figure", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met")


@dataclass(frozen=True)
class Area:
    name: str
    module: str


AREAS: dict[str, Area] = {area.name: area for area in (
    Area("commands", "bench.commands"),
    Area("projections", "bench.projections"),
    Area("graphql", "bench.graphql"),
    Area("jobs", "bench.jobs"),
    Area("audit", "bench.audit"),
)}


@dataclass(frozen=True)
class Figure:
    """One measured figure beside the baseline it is judged against (measured in the same
    run). ``ratio`` is value ÷ baseline_value; ``met`` is None when there is no target."""

    figure: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None

    @classmethod
    def against(cls, figure: str, value: float, unit: str, baseline: str,
                baseline_value: float, target: str | None = None,
                meets: Callable[[float, float], bool] | None = None) -> Figure:
        """A figure with its ratio to the baseline; ``meets(value, ratio)`` judges it."""
        ratio = value / baseline_value if baseline_value else math.nan
        return cls(figure, value, unit, baseline, baseline_value, ratio, target,
                   meets(value, ratio) if meets is not None else None)

    def row(self) -> dict[str, Any]:
        return {k: _rounded(v) for k, v in asdict(self).items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, 3 if abs(value) < 10 else 1)
    return value


def load(name: str) -> ModuleType:
    return importlib.import_module(AREAS[name].module)


def area_parser(name: str, module: ModuleType) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"danvan bench {name}",
                                     description=getattr(module, "DESCRIPTION", None))
    add_common_arguments(parser)
    module.add_arguments(parser)
    return parser


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=SCALES, default="small",
                        help="how much data the area sets up (default small)")
    parser.add_argument("--json", action="store_true",
                        help="print the rows as a JSON list of objects")


def render_json(figures: Sequence[Figure]) -> str:
    return json.dumps([f.row() for f in figures], ensure_ascii=False, indent=2)


def render_table(figures: Sequence[Figure]) -> str:
    """One row per figure under a header, columns aligned, blanks for what does not apply."""
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "NO"
        if isinstance(value, float):
            if value.is_integer():
                return f"{int(value):,}"
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return str(value)

    rows = [list(COLUMNS)] + [[cell(v) for v in f.row().values()] for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)
