"""Loads synthetic records in batches, printing after each commit (the crash test kills it)."""

from __future__ import annotations

import sys

from matcher.store import IdentityStore
from tests.store.fakes import fake_backend, people

CHILDREN = 400
BATCH = 40


def main(url: str) -> None:
    """Load `people(CHILDREN)` in batches of BATCH."""
    data = people(CHILDREN, seed=5)
    store = IdentityStore.open(url, backend=fake_backend())
    for start in range(0, data.height, BATCH):
        store.load(data.slice(start, BATCH))
        print(f"committed {start + BATCH}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
