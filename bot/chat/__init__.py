"""A chat: what it is (`definition`), how it is written (`files`), when each step falls
due (`timeline`, `zones`) and what each step looks like on Discord (`posts`).

Everything here is plain Python: no Discord, no database. The names below are the
package's public face; the submodules hold the rest.
"""

from bot.chat.definition import (
    MAX_CHAT_MINUTES, MAX_QUESTIONS, CatchUp, ChatDefinition, Midway, Question, Reading, Schedule,
)
from bot.chat.files import (
    ChatFileError, Problem, chat_files, chat_from_data, load_chat_file, parse_chat,
)

__all__ = [
    "MAX_CHAT_MINUTES", "MAX_QUESTIONS", "CatchUp", "ChatDefinition", "ChatFileError", "Midway",
    "Problem", "Question", "Reading", "Schedule", "chat_files", "chat_from_data",
    "load_chat_file", "parse_chat",
]
