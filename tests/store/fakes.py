"""A small deterministic matching backend for store tests (no model training needed).

Blocking: same last_name_1, or same birth_date. Score: the number of agreeing fields among
first_name, last_name_1, birth_date, sex, parent1_first_name (case-insensitive) maps to a
probability; two records both flagged multiple birth with different first names are possible
twins; like the real core it says whether the first names agree exactly (`same_name`) and
whether an identifier agrees (`identifier_agrees`: one local_student_id in one state).
Clustering is the real `matcher.clustering.cluster`. The API tests use it too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence, Set
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
    """In-memory index with exact-key blocking. Without `evidence` its pairs leave out
    same_name and identifier_agrees (a backend that does not know them)."""

    def __init__(self, evidence: bool = True) -> None:
        self.evidence = evidence
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

    def add_and_match(self, records: pl.DataFrame) -> pl.DataFrame:
        self.add(records)
        return self.match(records)

    def memory_bytes(self) -> int:
        return 200 * len(self.rows)

    def match(self, records: pl.DataFrame, among: Set[str] | None = None) -> pl.DataFrame:
        out: list[dict[str, Any]] = []
        for row in records.iter_rows(named=True):
            candidates: set[str] = set()
            for key in self._keys(row):
                candidates |= self.blocks.get(key, set())
            candidates.discard(row["record_id"])
            if among is not None:
                candidates &= among
            out.extend(self._pair(row, self.rows[other]) for other in sorted(candidates))
        return self._frame(out)

    def score_pairs(self, left: Sequence[str], right: Sequence[str]) -> pl.DataFrame:
        return self._frame([self._pair(self.rows[a], self.rows[b])
                            for a, b in zip(left, right, strict=True)])

    @staticmethod
    def _pair(row: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
        agree = {f: bool(row.get(f)) and _norm(row.get(f)) == _norm(other.get(f))
                 for f in FIELDS}
        p = PROBABILITY[sum(agree.values())]
        twin = (_norm(row.get("multiple_birth_flag")) == "y"
                and _norm(other.get("multiple_birth_flag")) == "y"
                and not agree["first_name"])
        student_id = _norm(row.get("local_student_id"))
        return {
            "record_id_l": row["record_id"], "record_id_r": other["record_id"],
            "match_weight": math.log2(p / (1 - p)), "match_probability": p,
            **{f"mw_{f}": (1.0 if a else -1.0) for f, a in agree.items()},
            "possible_multiple_birth": twin,
            "same_name": agree["first_name"],
            "identifier_agrees": (bool(student_id) and row["state"] == other["state"]
                                  and student_id == _norm(other.get("local_student_id"))),
        }

    def _frame(self, rows: list[dict[str, Any]]) -> pl.DataFrame:
        schema: dict[str, Any] = {"record_id_l": pl.String, "record_id_r": pl.String,
                                  "match_weight": pl.Float64, "match_probability": pl.Float64,
                                  **{f"mw_{f}": pl.Float64 for f in FIELDS},
                                  "possible_multiple_birth": pl.Boolean,
                                  "same_name": pl.Boolean, "identifier_agrees": pl.Boolean}
        found = pl.DataFrame(rows, schema=schema)
        return found if self.evidence else found.drop("same_name", "identifier_agrees")


def fake_backend(*, evidence: bool = True) -> MatchingBackend:
    """The fake index with the real clustering (`evidence`: see `FakeIndex`)."""
    return MatchingBackend(make_index=lambda: FakeIndex(evidence), cluster=cluster,
                           thresholds=THRESHOLDS)


def rec(record_id: str, state: str, first: str, last: str, dob: str, **extra: str | None
        ) -> dict[str, str | None]:
    """A canonical record dict."""
    row: dict[str, str | None] = {"record_id": record_id, "state": state, "first_name": first,
                                  "last_name_1": last, "birth_date": dob, "sex": "F",
                                  "parent1_first_name": "Rosa"}
    row.update(extra)
    return row


def frame(*rows: dict[str, str | None]) -> pl.DataFrame:
    """Records as a frame of strings."""
    columns = sorted({k for r in rows for k in r})
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows],
                        schema=dict.fromkeys(columns, pl.String))


FIRST = ["Maria", "Jose", "Juan", "Ana", "Luis", "Carmen", "Jesus", "Rosa", "Pedro", "Elena",
         "Miguel", "Sofia", "Carlos", "Lucia", "Diego", "Paula"]
LAST = ["Garcia", "Lopez", "Martinez", "Hernandez", "Perez", "Sanchez", "Ramirez", "Torres",
        "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Morales", "Reyes", "Ortiz", "Castillo",
        "Vargas", "Romero", "Mendoza"]
PARENTS = ["Rosa", "Juana", "Teresa", "Alma", "Irma", "Luz", "Olga", "Nora"]
STATES = ["TX", "CA", "FL", "WA", "NY", "OR", "GA", "MI"]


def people(children: int, seed: int = 7) -> pl.DataFrame:
    """Synthetic records: each child has 1–3 records in different states; some carry one
    field wrong (still a link), some two (a near match); some children are twins."""
    import random

    rnd = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    for child in range(children):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        dob = f"20{rnd.randint(5, 20):02d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        parent, sex = rnd.choice(PARENTS), rnd.choice("MF")
        twin = rnd.random() < 0.05
        states = rnd.sample(STATES, rnd.randint(1, 3))
        base = {"first_name": first, "last_name_1": last, "birth_date": dob,
                "parent1_first_name": parent, "sex": sex,
                "multiple_birth_flag": "Y" if twin else "N",
                "enrollment_date": f"202{rnd.randint(2, 4)}-{rnd.randint(1, 12):02d}-15"}
        for k, state in enumerate(states):
            row: dict[str, str | None] = {"record_id": f"c{child:05d}-{k}", "state": state,
                                          **base}
            errors = rnd.choices([0, 1, 2], weights=[80, 15, 5])[0] if k else 0
            for field in rnd.sample(["first_name", "parent1_first_name", "sex"], errors):
                row[field] = (row[field] or "") + "x"
            rows.append(row)
        if twin:
            rows.append({"record_id": f"c{child:05d}-t", "state": states[0], **base,
                         "first_name": rnd.choice([f for f in FIRST if f != first])})
    return pl.DataFrame(rows).select(
        "record_id", "state", "first_name", "last_name_1", "birth_date", "sex",
        "parent1_first_name", "multiple_birth_flag", "enrollment_date")
