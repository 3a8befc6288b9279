"""Match models: unsupervised Fellegi–Sunter and a supervised scikit-learn model, one Protocol."""

from __future__ import annotations

import json
from pathlib import Path

from matcher.errors import ModelError
from models.base import MatchModel
from models.fellegi_sunter import FellegiSunterModel
from models.supervised import SupervisedModel

__all__ = ["FellegiSunterModel", "MatchModel", "SupervisedModel", "load_model",
           "load_model_json"]


def load_model_json(text: str) -> MatchModel:
    """Restore a model saved with `to_json()`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model file is not JSON: {exc}") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "fellegi_sunter":
        return FellegiSunterModel.from_dict(data)
    if kind == "supervised_logistic":
        return SupervisedModel.from_dict(data)
    raise ModelError(f"'type' must be 'fellegi_sunter' or 'supervised_logistic'; got {kind!r}")


def load_model(path: str | Path) -> MatchModel:
    try:
        return load_model_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from None
