"""The identity store: persistent identities over SQLite or PostgreSQL (DESIGN §1, §4).

    from matcher.store import IdentityStore
    store = IdentityStore.open("studentlink.db", settings=settings, model=model)
    store.load(records)                    # incremental: link, queue or leave alone
    store.identities.consolidated(id_, actor="alice")
    store.reviews.judge(item_id, decision="non_match", actor="bob")
    store.changes.initiate_merge([a, b], actor="alice"); store.changes.validate(1, actor="carol")
    store.events.since(cursor, state="TX")
    store.counts("2023-24")
"""

from __future__ import annotations

from matcher.store.backend import MatchingBackend
from matcher.store.changes import ChangeView
from matcher.store.counts import ChildCounts, parse_period
from matcher.store.feed import EVENT_KINDS, EventPage, EventView
from matcher.store.ids import is_valid_identity_id
from matcher.store.reviews import DECISIONS, JudgementView, NearMatchView
from matcher.store.store import IdentityStore, LoadResult, RecordOutcome, StoreConfig
from matcher.store.views import ConsolidatedRecord, IdentityView, LineageView

__all__ = [
    "DECISIONS",
    "EVENT_KINDS",
    "ChangeView",
    "ChildCounts",
    "ConsolidatedRecord",
    "EventPage",
    "EventView",
    "IdentityStore",
    "IdentityView",
    "JudgementView",
    "LineageView",
    "LoadResult",
    "MatchingBackend",
    "NearMatchView",
    "RecordOutcome",
    "StoreConfig",
    "is_valid_identity_id",
    "parse_period",
]
