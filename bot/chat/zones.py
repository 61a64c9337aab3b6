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

    def __init__(self, name: str, suggestions: list[str], why: str = "") -> None:
        self.name = name
        self.suggestions = suggestions
        if why:
            meant = ", ".join(suggestions[:-1]) + " or " + suggestions[-1] if len(suggestions) > 1 else suggestions[0]
            super().__init__(f"{name!r} is {why}; use {meant}, an IANA zone that follows the local "
                             "clock all year")
            return
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


# Abbreviations are clocks, not places: "EST" is New York's winter clock only, so taking it
# as a zone (the IANA database has a fixed-offset "EST") would put a summer chat an hour
# out. They are refused with the zones meant. (UTC stays: a chat may want no DST at all.)
ABBREVIATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gmt": ("Greenwich Mean Time, which the UK keeps only in winter", ("Europe/London", "UTC")),
    "bst": ("British Summer Time, which the UK keeps only in summer", ("Europe/London",)),
    "ist": ("Irish Standard Time (summer, in Ireland) or India Standard Time", ("Europe/Dublin", "Asia/Kolkata")),
    "cet": ("Central European Time, a winter clock", ("Europe/Paris", "Europe/Berlin")),
    "cest": ("Central European Summer Time", ("Europe/Paris", "Europe/Berlin")),
    "wet": ("Western European Time, a winter clock", ("Europe/Lisbon",)),
    "eet": ("Eastern European Time, a winter clock", ("Europe/Athens", "Europe/Helsinki")),
    "met": ("Middle European Time, a winter clock", ("Europe/Berlin",)),
    "est": ("US Eastern Standard Time, a winter clock", ("America/New_York", "America/Toronto")),
    "edt": ("US Eastern Daylight Time, a summer clock", ("America/New_York", "America/Toronto")),
    "cst": ("US Central Standard Time, a winter clock", ("America/Chicago", "America/Winnipeg")),
    "cdt": ("US Central Daylight Time, a summer clock", ("America/Chicago", "America/Winnipeg")),
    "mst": ("US Mountain Standard Time, a winter clock (Arizona keeps it all year)",
            ("America/Denver", "America/Edmonton", "America/Phoenix")),
    "mdt": ("US Mountain Daylight Time, a summer clock", ("America/Denver", "America/Edmonton")),
    "pst": ("US Pacific Standard Time, a winter clock", ("America/Los_Angeles", "America/Vancouver")),
    "pdt": ("US Pacific Daylight Time, a summer clock", ("America/Los_Angeles", "America/Vancouver")),
    "hst": ("Hawaii Standard Time", ("Pacific/Honolulu",)),
    "aest": ("Australian Eastern Standard Time, a winter clock in NSW, Victoria and Tasmania",
             ("Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane")),
    "aedt": ("Australian Eastern Daylight Time, a summer clock", ("Australia/Sydney", "Australia/Melbourne")),
    "acst": ("Australian Central Standard Time", ("Australia/Adelaide", "Australia/Darwin")),
    "acdt": ("Australian Central Daylight Time, a summer clock", ("Australia/Adelaide",)),
    "awst": ("Australian Western Standard Time", ("Australia/Perth",)),
    "nzst": ("New Zealand Standard Time, a winter clock", ("Pacific/Auckland",)),
    "nzdt": ("New Zealand Daylight Time, a summer clock", ("Pacific/Auckland",)),
}
_LEGACY = {"est5edt": "est", "cst6cdt": "cst", "mst7mdt": "mst", "pst8pdt": "pst", "gmt0": "gmt",
           "gmt+0": "gmt", "gmt-0": "gmt", "greenwich": "gmt", "etc/gmt": "gmt", "etc/greenwich": "gmt"}
# Places people name instead of a zone: countries with one zone, and common words.
PLACES = {"uk": "Europe/London", "gb": "Europe/London", "britain": "Europe/London",
          "great britain": "Europe/London", "united kingdom": "Europe/London",
          "england": "Europe/London", "scotland": "Europe/London", "wales": "Europe/London",
          "northern ireland": "Europe/London", "uk time": "Europe/London", "ireland": "Europe/Dublin",
          "nz": "Pacific/Auckland", "new zealand": "Pacific/Auckland", "aotearoa": "Pacific/Auckland",
          "france": "Europe/Paris", "germany": "Europe/Berlin", "spain": "Europe/Madrid",
          "netherlands": "Europe/Amsterdam", "india": "Asia/Kolkata", "singapore": "Asia/Singapore",
          "south africa": "Africa/Johannesburg", "hong kong": "Asia/Hong_Kong"}
# Countries with several zones: refused with their main ones.
SEVERAL = {"us": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
           "usa": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
           "canada": ("America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver"),
           "australia": ("Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Perth")}


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """City part -> zone, for cities only one zone is named after ("sydney", "new york")."""
    seen: dict[str, list[str]] = {}
    for zone in _zones():
        if "/" in zone and not zone.startswith("Etc/"):
            seen.setdefault(zone.rsplit("/", 1)[-1].lower(), []).append(zone)
    return {city: zones[0] for city, zones in seen.items() if len(zones) == 1}


def resolve_zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name (any case), a city ("Sydney", "New York") or a
    country with one zone ("UK", "Ireland"). Clock abbreviations (BST, EST, AEST) and
    countries with several zones are refused with the zones meant.

    :raises UnknownTimeZone: with up to five suggestions when the name is not a zone.
    """
    words = " ".join(name.strip().lower().replace("_", " ").split())
    short = _LEGACY.get(words.replace(" ", "_"), words)
    if short in ABBREVIATIONS:
        why, meant = ABBREVIATIONS[short]
        raise UnknownTimeZone(name, list(meant), f"{why}, not a place's zone")
    if words in SEVERAL:
        raise UnknownTimeZone(name, list(SEVERAL[words]), "a country with several time zones")  # noqa: E501
    if words in PLACES:
        return ZoneInfo(PLACES[words])
    cleaned = name.strip().replace(" ", "_")
    if "/" in cleaned and not cleaned.startswith(("posix/", "right/")):
        # The usual case, an exact IANA name ("Europe/London"), without listing every
        # zone on the machine first (20 ms).
        try:
            return ZoneInfo(cleaned)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # not a zone, or a folder of them
            pass
    city = _cities().get(words.replace(" ", "_"))
    if city is not None:
        return ZoneInfo(city)
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
