"""API settings: typed, frozen, read once from `STUDENTLINK_*` environment variables.

Nothing secret has a default: the store URL defaults to the embedded SQLite file, and API keys
live hashed in the store (`studentlink keys create`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE_URL = "sqlite:///studentlink.db"

HARD_MAX_BATCH = 10_000
"""The schema's ceiling on a batch; `max_batch_records` (the enforced limit) must not exceed it."""


class ApiSettings(BaseSettings):
    """Everything the API reads from its environment (`STUDENTLINK_<FIELD>`)."""

    model_config = SettingsConfigDict(env_prefix="STUDENTLINK_", frozen=True, extra="forbid",
                                      populate_by_name=True)

    store_url: str = Field(
        default=DEFAULT_STORE_URL,
        validation_alias=AliasChoices("store_url", "STUDENTLINK_STORE_URL", "STUDENTLINK_STORE"),
        description="sqlite:///file.db, postgresql+psycopg://... or a file path "
                    "(also read from STUDENTLINK_STORE, like the store commands).",
    )
    preset: str = Field(default="msix",
                        description="Preset used when the store has no saved settings.")
    model_path: Path | None = Field(
        default=None, description="Match model JSON to use when the store has none saved yet.")
    upper_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="Override the link threshold (match probability).")
    lower_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="Override the review threshold (match probability).")

    max_batch_records: int = Field(default=1000, ge=1, le=HARD_MAX_BATCH,
                                   description="Most records accepted by one POST /v1/records.")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024,
                                description="Largest request body accepted (413 beyond).")
    max_match_candidates: int = Field(default=20, ge=1, le=100,
                                      description="Most candidate identities one match returns.")
    max_page_size: int = Field(default=500, ge=1, le=10_000,
                               description="Largest page of near matches, events or audit.")
    idempotency_cache_size: int = Field(default=2048, ge=0,
                                        description="Upload responses kept for replay.")
    audit_flush_seconds: float = Field(default=0.25, ge=0,
                                       description="How long request audit rows may wait "
                                                   "before they are written (0: at once).")
    warm_index: bool = Field(default=True,
                             description="Build the matching index at start-up.")
    cors_origins: tuple[str, ...] = Field(default=(),
                                          description="Origins allowed by CORS (none).")

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> ApiSettings:
        if (self.upper_threshold is not None and self.lower_threshold is not None
                and self.lower_threshold >= self.upper_threshold):
            raise ValueError("'lower_threshold' must be below 'upper_threshold'; got "
                             f"{self.lower_threshold} >= {self.upper_threshold}")
        return self


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """The settings from the environment, read once (tests build their own `ApiSettings`)."""
    return ApiSettings()
