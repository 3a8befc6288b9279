"""Crash safety: SIGKILL a loading process partway, restart, reload: nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matcher.store import IdentityStore
from matcher.store.models import Record
from tests.store.crash_loader import BATCH, CHILDREN
from tests.store.fakes import fake_backend, people
from tests.store.helpers import assert_consistent, partition, store_partition

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_during_load_then_reload(store_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    committed = 0
    with subprocess.Popen([sys.executable, "-m", "tests.store.crash_loader", store_url],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            committed = int(line.split()[1])
            if committed >= 3 * BATCH:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert committed >= 3 * BATCH

    data = people(CHILDREN, seed=5)
    store = IdentityStore.open(store_url, backend=fake_backend())
    try:
        assert_consistent(store)
        with store.engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Record)) or 0
        assert committed <= stored < data.height  # whole batches only, the rest not yet
        assert stored % BATCH == 0
        for start in range(0, data.height, BATCH):
            store.load(data.slice(start, BATCH))
        assert_consistent(store)
        with store.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Record)) == data.height
        backend = fake_backend()
        index = backend.make_index()
        index.add(data)
        expected = backend.cluster(data["record_id"], index.match(data), backend.thresholds)
        assert store_partition(store) == partition(expected.assignments, "cluster_id")
    finally:
        store.close()
