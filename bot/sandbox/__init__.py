"""A local, in-memory server speaking the part of Discord's API (v10) the bot uses.

See README.md in this package for what is emulated, and :class:`Sandbox` to start one.
The names below are imported when first used, so that ``tweetchat`` can declare the
sandbox's command-line options without loading the server (aiohttp, the spec).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "APIError": ".errors",
    "CommandRefused": ".interactions",
    "InteractionHandle": ".members",
    "NoResponse": ".members",
    "ScriptedMember": ".members",
    "RateLimits": ".ratelimit",
    "Rule": ".ratelimit",
    "Sandbox": ".server",
    "SandboxConfig": ".server",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .errors import APIError
    from .interactions import CommandRefused
    from .members import InteractionHandle, NoResponse, ScriptedMember
    from .ratelimit import RateLimits, Rule
    from .server import Sandbox, SandboxConfig


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
