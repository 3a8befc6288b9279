"""A small deterministic matching backend, so API tests do not depend on a trained model.

Blocking: same last_name_1 or same birth_date. Score: how many of first_name, last_name_1,
birth_date, sex, parent1_first_name agree (case-insensitive), mapped to a probability; two
records both flagged multiple birth with different first names are possible twins. Clustering
is the real `matcher.clustering.cluster`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import polars as pl

from matcher.clustering import cluster
from matcher.settings import Thresholds
from matcher.store import MatchingBackend

FIELDS = ("first_name", "last_name_1", "birth_date", "sex", "parent1_first_name")
PROBABILITY = {5: 0.9999, 4: 0.995, 3: 0.8, 2: 0.2, 1: 0.05, 0: 0.01}
THRESHOLDS = Thresholds(upper=0.99, lower=0.5)


def _norm(value: Any) -> str:
    return str(value or "").strip().lower()


class FakeIndex:
    """In-memory index with exact-key blocking."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.blocks: dict[tuple[str, str], set[str]] = defaultdict(set)

    def _keys(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, _norm(row[k])) for k in ("last_name_1", "birth_date") if row.get(k)]

    def add(self, records: pl.DataFrame) -> None:
        for row in records.iter_rows(named=True):
            self.remove([row["record_id"]])
            self.rows[row["record_id"]] = row
            for key in self._keys(row):
                self.blocks[key].add(row["record_id"])

    def remove(self, record_ids: list[str]) -> None:
        for rid in record_ids:
            row = self.rows.pop(rid, None)
            if row is not None:
                for key in self._keys(row):
                    self.blocks[key].discard(rid)

    def __len__(self) -> int:
        return len(self.rows)

    def memory_bytes(self) -> int:
        return 200 * len(self.rows)

    def match(self, records: pl.DataFrame) -> pl.DataFrame:
        out: list[dict[str, Any]] = []
        for row in records.iter_rows(named=True):
            candidates: set[str] = set()
            for key in self._keys(row):
                candidates |= self.blocks.get(key, set())
            candidates.discard(row["record_id"])
            for other_id in sorted(candidates):
                other = self.rows[other_id]
                agree = {f: bool(row.get(f)) and _norm(row.get(f)) == _norm(other.get(f))
                         for f in FIELDS}
                p = PROBABILITY[sum(agree.values())]
                twin = (_norm(row.get("multiple_birth_flag")) == "y"
                        and _norm(other.get("multiple_birth_flag")) == "y"
                        and not agree["first_name"])
                out.append({
                    "record_id_l": row["record_id"], "record_id_r": other_id,
                    "match_weight": math.log2(p / (1 - p)), "match_probability": p,
                    **{f"mw_{f}": (1.0 if a else -1.0) for f, a in agree.items()},
                    "possible_multiple_birth": twin,
                })
        schema: dict[str, Any] = {"record_id_l": pl.String, "record_id_r": pl.String,
                                  "match_weight": pl.Float64, "match_probability": pl.Float64,
                                  **{f"mw_{f}": pl.Float64 for f in FIELDS},
                                  "possible_multiple_birth": pl.Boolean}
        return pl.DataFrame(out, schema=schema)


def fake_backend() -> MatchingBackend:
    """The fake index with the real clustering."""
    return MatchingBackend(make_index=FakeIndex, cluster=cluster, thresholds=THRESHOLDS)


def rec(record_id: str, state: str, first: str, last: str, dob: str, **extra: str | None
        ) -> dict[str, str | None]:
    """A canonical record as a JSON body row."""
    row: dict[str, str | None] = {"record_id": record_id, "state": state, "first_name": first,
                                  "last_name_1": last, "birth_date": dob, "sex": "F",
                                  "parent1_first_name": "Rosa",
                                  "enrollment_date": "2023-10-01"}
    row.update(extra)
    return row


# The scenario most tests start from (see `seeded` in conftest):
MARIA_TX = rec("TX-1", "TX", "Maria", "Garcia", "2015-01-01")
MARIA_FL = rec("FL-1", "FL", "Maria", "Garcia", "2015-01-01",
               enrollment_date="2024-02-01")             # links to TX-1: a move TX -> FL
JOSE_FL = rec("FL-2", "FL", "Jose", "Lopez", "2014-02-02", sex="M", parent1_first_name="Juana")
ANA_TX = rec("TX-2", "TX", "Ana", "Perez", "2013-03-03", parent1_first_name="Luz")
ANA_FL = rec("FL-3", "FL", "Ana", "Perez", "2013-03-03", sex="M",
             parent1_first_name="Olga")                  # 3 of 5 agree: a TX/FL near match
LUIS_FL_A = rec("FL-4", "FL", "Luis", "Cruz", "2012-04-04", sex="M", parent1_first_name="Irma")
LUIS_FL_B = rec("FL-5", "FL", "Luis", "Cruz", "2012-04-04", parent1_first_name="Nora")
JUAN_TX = rec("TX-3", "TX", "Juan", "Diaz", "2016-05-05", sex="M", multiple_birth_flag="Y")
PEDRO_TX = rec("TX-4", "TX", "Pedro", "Diaz", "2016-05-05", sex="M", multiple_birth_flag="Y",
               parent1_first_name="Alma")                # twins of Juan: a flagged near match
SEED = [MARIA_TX, JOSE_FL, ANA_TX, ANA_FL, LUIS_FL_A, LUIS_FL_B, JUAN_TX, PEDRO_TX]
"""Loaded first; MARIA_FL arrives in a later batch (so that the move is an event)."""
NAMES = ("Maria", "Garcia", "Jose", "Lopez", "Perez", "Luis", "Cruz", "Juan", "Pedro", "Diaz")
BIRTH_DATES = ("2015-01-01", "2014-02-02", "2013-03-03", "2012-04-04", "2016-05-05")
