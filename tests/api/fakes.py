"""API test data: records as JSON body rows and the scenario most tests start from.

The matching backend is the store tests' small deterministic one (`tests.store.fakes`), so API
tests do not depend on a trained model.
"""

from __future__ import annotations

from tests.store.fakes import fake_backend

__all__ = ["fake_backend", "rec"]


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
