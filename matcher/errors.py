"""One exception tree for studentlink.

Messages follow "'{field}' must be {expected}; got {value!r}" and name the record where there
is one.
"""

from __future__ import annotations


class StudentlinkError(Exception):
    """Base of every error studentlink raises on purpose."""


class SettingsError(StudentlinkError):
    """A preset or settings file is invalid; the message lists every problem found."""


class InputFileError(StudentlinkError):
    """A whole input file cannot be used (unreadable, missing a required column).

    The CLI turns this into one clear message and exit code 2.
    """


class ModelError(StudentlinkError):
    """A match model is unfitted, or its saved JSON cannot be read."""


class StoreError(StudentlinkError):
    """The identity store refused an operation (conflict, lock, unknown id)."""


class StaleModelError(StoreError):
    """The store was given a new model (`studentlink rebuild`) after this process took its
    own: it must reopen the store before it writes again."""


class NotFoundError(StoreError):
    """An identity, record or review item does not exist."""


class ConflictError(StoreError):
    """An operation lost a race or breaks a rule (lock, version, two-person rule)."""
