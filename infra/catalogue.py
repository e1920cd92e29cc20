"""The official catalogue of administrative units (34 provinces, 3,321 communes and wards).

Read from the ``vietnamadminunits`` package (MIT), which ships it as SQLite; loaded once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

KIND_BY_TYPE = {"Xã": "commune", "Phường": "ward", "Đặc khu": "special_zone"}


@dataclass(frozen=True)
class CatalogueUnit:
    code: str
    name: str
    kind: str
    province_code: str
    province_name: str


@dataclass(frozen=True)
class Province:
    code: str
    name: str


class Catalogue:
    def __init__(self, units: list[CatalogueUnit]) -> None:
        self._by_code = {u.code: u for u in units}
        self._provinces = {u.province_code: Province(u.province_code, u.province_name)
                           for u in units}

    def unit(self, code: str) -> CatalogueUnit | None:
        return self._by_code.get(code)

    def province(self, code: str) -> Province | None:
        return self._provinces.get(code)

    def provinces(self) -> list[Province]:
        return sorted(self._provinces.values(), key=lambda p: p.code)

    def units_of(self, province_code: str) -> list[CatalogueUnit]:
        return sorted((u for u in self._by_code.values() if u.province_code == province_code),
                      key=lambda u: u.code)

    def __len__(self) -> int:
        return len(self._by_code)


@lru_cache(maxsize=1)
def official_catalogue() -> Catalogue:
    path = resources.files("vietnamadminunits").joinpath("data/dataset.db")
    with resources.as_file(path) as db_path, sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT DISTINCT wardCode, ward, wardType, provinceCode, province FROM admin_units"
        ).fetchall()
    return Catalogue([CatalogueUnit(code=code, name=name, kind=KIND_BY_TYPE[kind],
                                    province_code=province_code, province_name=province)
                      for code, name, kind, province_code, province in rows])
