"""A chat: what it is (`definition`), how it is written (`files`), when each step falls
due (`timeline`, `zones`) and what each step looks like on Discord (`posts`).

Everything here is plain Python: no Discord, no database. The names below are the
package's public face; the submodules hold the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives. They are imported on first use (PEP 562), so that a
# module needing only `zones` or `timeline` (the settings, the guidance CLI) does not
# load the chat-file parser with them.
_HOMES = {
    "bot.chat.definition": ("MAX_CHAT_MINUTES", "MAX_QUESTIONS", "CatchUp", "ChatDefinition",
                            "Midway", "Question", "Reading", "Schedule"),
    "bot.chat.files": ("ChatFileError", "Problem", "chat_files", "chat_from_data",
                       "load_chat_file", "parse_chat"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME)

if TYPE_CHECKING:
    from bot.chat.definition import (
        MAX_CHAT_MINUTES, MAX_QUESTIONS, CatchUp, ChatDefinition, Midway, Question, Reading, Schedule,
    )
    from bot.chat.files import (
        ChatFileError, Problem, chat_files, chat_from_data, load_chat_file, parse_chat,
    )


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'bot.chat' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
