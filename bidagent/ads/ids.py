"""The one place where Amazon ids are normalised.

Entity payloads carry ids as JSON strings, reports as JSON numbers (digest §2.1, §3.6); the store
keys everything by the decimal string. Every id that enters bidagent from the API passes through
:func:`normalise_id`. It must not accept floats: an id above 2**53 that went through a float has
already lost digits, and we would rather fail loudly than update the wrong keyword.
"""

from __future__ import annotations

__all__ = ["normalise_id", "optional_id"]


def normalise_id(value: object) -> str:
    """Return the decimal-string form of an Amazon id given as a string or an integer."""
    if isinstance(value, bool):
        raise ValueError(f"not an Amazon id: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"not an Amazon id: {value!r}")
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            # Drop leading zeros so "007" and 7 name the same entity.
            return str(int(text))
    raise ValueError(f"not an Amazon id: {value!r}")


def optional_id(value: object) -> str | None:
    """Like :func:`normalise_id`, but ``None`` stays ``None`` (e.g. a campaign without portfolio)."""
    return None if value is None else normalise_id(value)
