"""The HTTP API (FastAPI) over the identity store, with keys, roles and state scopes.

    from api import ApiSettings, create_app
    app = create_app(ApiSettings(store_url="sqlite:///studentlink.db"))

Other packages authenticate with `api.auth.authenticate(store, raw_key)` and use the
dependencies in `api.deps`. Names are imported lazily so that the CLI starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app
    from api.auth import Principal, Role, authenticate
    from api.settings import ApiSettings, get_settings

__all__ = ["ApiSettings", "Principal", "Role", "authenticate", "create_app", "get_settings"]

_HOMES = {"create_app": "api.app", "Principal": "api.auth", "Role": "api.auth",
          "authenticate": "api.auth", "ApiSettings": "api.settings",
          "get_settings": "api.settings"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'api' has no attribute {name!r}")
