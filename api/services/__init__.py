"""The services the routers call: plain classes over the store, one per resource."""

from __future__ import annotations

from dataclasses import dataclass

from api.services.audit import AuditService, AuditSink
from api.services.base import Context
from api.services.changes import ChangeService
from api.services.feed import FeedService
from api.services.identities import IdentityService
from api.services.keys import KeyService
from api.services.matching import MatchService
from api.services.records import RecordService
from api.services.reviews import ReviewService
from api.settings import ApiSettings
from matcher.store import IdentityStore

__all__ = ["AuditSink", "Context", "Services"]


@dataclass
class Services:
    """Everything a request may need, built once per app."""

    ctx: Context
    records: RecordService
    matching: MatchService
    identities: IdentityService
    reviews: ReviewService
    changes: ChangeService
    feed: FeedService
    keys: KeyService
    audit: AuditService

    def close(self) -> None:
        """Stop background workers."""
        self.matching.close()

    @classmethod
    def build(cls, store: IdentityStore, settings: ApiSettings) -> Services:
        ctx = Context(store=store, settings=settings)
        return cls(ctx=ctx, records=RecordService(ctx), matching=MatchService(ctx),
                   identities=IdentityService(ctx), reviews=ReviewService(ctx),
                   changes=ChangeService(ctx), feed=FeedService(ctx), keys=KeyService(ctx),
                   audit=AuditService(ctx))
