"""A local, in-memory server speaking the part of Discord's API (v10) the bot uses.

See README.md in this package for what is emulated, and :class:`Sandbox` to start one.
"""

from .errors import APIError
from .interactions import CommandRefused
from .members import InteractionHandle, NoResponse, ScriptedMember
from .ratelimit import RateLimits, Rule
from .server import Sandbox, SandboxConfig

__all__ = [
    "APIError",
    "CommandRefused",
    "InteractionHandle",
    "NoResponse",
    "RateLimits",
    "Rule",
    "Sandbox",
    "SandboxConfig",
    "ScriptedMember",
]
