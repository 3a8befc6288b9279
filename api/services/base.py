"""What every service shares: the store, the settings and the matching settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.errors import ServiceUnavailable
from api.settings import ApiSettings
from matcher.settings import Settings, load_preset
from matcher.store import IdentityStore

NO_MODEL = "the store has no match model yet; load records first (studentlink load or demo)"


@dataclass
class Context:
    """The store and settings the services run on."""

    store: IdentityStore
    settings: ApiSettings
    _matching: Settings | None = field(default=None, repr=False)

    @property
    def matching(self) -> Settings:
        """The matching settings the store was built with (else the configured preset)."""
        if self._matching is None:
            saved = self.store.meta("settings_json")
            self._matching = (Settings.model_validate_json(saved) if saved
                              else load_preset(self.settings.preset))
        return self._matching

    def require_backend(self) -> None:
        """503 unless the store can match."""
        if not self.store.has_backend:
            raise ServiceUnavailable(NO_MODEL)

    @property
    def thresholds(self) -> Any:
        """The thresholds in force (the backend's)."""
        self.require_backend()
        return self.store.backend.thresholds
