"""IANA time zones: resolving what people type, suggesting what they meant.

Moderators type "london", "Europe/Londn" or "UK". We accept any case of a real IANA
name, and for anything else we refuse with the closest valid names.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class UnknownTimeZone(ValueError):
    """A name that is not an IANA time zone; `suggestions` holds the closest real ones."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = (
            "did you mean " + ", ".join(suggestions) + "?"
            if suggestions
            else "use an IANA name such as Europe/London or America/New_York."
        )
        super().__init__(f"unknown time zone {name!r}: {hint}")


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    # Legacy aliases ("posixrules", "Factory") confuse more than they help.
    return tuple(sorted(z for z in available_timezones() if z not in {"Factory", "posixrules"}))


@lru_cache(maxsize=1)
def _by_lower() -> dict[str, str]:
    return {z.lower(): z for z in _zones()}


def resolve_zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name, matched case-insensitively.

    :raises UnknownTimeZone: with up to five suggestions when the name is not a zone.
    """
    cleaned = name.strip().replace(" ", "_")
    canonical = _by_lower().get(cleaned.lower())
    if canonical is not None:
        try:
            return ZoneInfo(canonical)
        except ZoneInfoNotFoundError:  # pragma: no cover - listed but unreadable
            pass
    raise UnknownTimeZone(name, suggest_zones(name))


def suggest_zones(text: str, limit: int = 5) -> list[str]:
    """The valid zone names closest to `text`, best first (for errors and autocomplete)."""
    needle = text.strip().replace(" ", "_").lower()
    if not needle:
        return ["Europe/London", "Europe/Dublin", "America/New_York", "Australia/Sydney"][:limit]
    by_lower = _by_lower()
    # Substring hits first ("london" -> Europe/London), then fuzzy ones on the whole name
    # and on the city part, so both "Europe/Londn" and "Londn" find Europe/London.
    hits = [z for low, z in by_lower.items() if needle in low]
    hits.sort(key=lambda z: (not z.lower().endswith(needle), len(z)))
    fuzzy = difflib.get_close_matches(needle, by_lower.keys(), n=limit, cutoff=0.6)
    cities = {low.rsplit("/", 1)[-1]: z for low, z in by_lower.items() if "/" in low}
    fuzzy_city = difflib.get_close_matches(needle, cities.keys(), n=limit, cutoff=0.7)
    ordered: list[str] = []
    for zone in [*hits, *(by_lower[f] for f in fuzzy), *(cities[c] for c in fuzzy_city)]:
        if zone not in ordered:
            ordered.append(zone)
    return ordered[:limit]
