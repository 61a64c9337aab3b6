"""Members' control over their data: export, erase, opt out, and retention.

Plain functions over the store, so the Discord layer (`/mydata`, the daily retention task)
only turns their results into messages. Each action leaves a line in the server's audit
log for moderators, never with deleted content; an erasure's line does not even name
the member, since after it no table may hold their id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.posts import plural
from bot.store import Store

log = logging.getLogger(__name__)

# The version of the /mydata export's layout; bump it when a field changes meaning.
EXPORT_SCHEMA = 1
MAX_RETENTION_DAYS = 3650


def export_member(store: Store, guild_id: int, user_id: int, now: datetime) -> bytes:
    """Everything stored about a member in one server, as a UTF-8 JSON document."""
    data = store.member_data(guild_id, user_id)
    document = {
        "schema": EXPORT_SCHEMA,
        "exported_at": now.isoformat(),
        "about": ("Everything tweetchat-bot stores about you in this server: your answers "
                  "in tweetchats with every revision, your opt-out, chats you scheduled or "
                  "saved and what you did as a moderator. Times are UTC."),
        **data,
    }
    store.audit(guild_id, "member exported their data", at=now, actor_id=user_id,
                detail=plural(len(data['answers']), "answer"))
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


@dataclass(frozen=True)
class Erased:
    answers: int
    revisions: int

    def sentence(self) -> str:
        if not self.answers:
            return "There was nothing stored about you in this server; nothing is kept."
        return (f"Deleted {plural(self.answers, 'answer')} and "
                f"{plural(self.revisions, 'stored revision')}. Only anonymous counts remain in "
                "the chats' statistics.")


def erase_member(store: Store, guild_id: int, user_id: int, now: datetime) -> Erased:
    """Remove a member's data from one server; the audit line does not name them."""
    counts = store.erase_member(guild_id, user_id, now)
    store.audit(guild_id, "member data erased on request", at=now,
                detail=f"{plural(counts['answers'], 'answer')}, "
                       f"{plural(counts['revisions'], 'revision')}")
    if not store.scrub():
        log.warning("erasure: a reader kept the WAL busy; the erased text leaves the WAL at "
                    "the next scrub or shutdown")
    return Erased(counts["answers"], counts["revisions"])


def set_opt_out(store: Store, guild_id: int, user_id: int, opted_out: bool, now: datetime) -> str:
    """Opt a member out of (or back into) answer collection; returns a sentence for them."""
    changed = store.set_opted_out(guild_id, user_id, opted_out, now)
    if changed:
        store.audit(guild_id, "member opted out" if opted_out else "member opted in", at=now,
                    actor_id=user_id)
    if opted_out:
        return ("You're opted out: from now on nothing you post in this server's tweetchats "
                "is stored, and transcripts made from now on leave out your earlier answers. "
                "To remove what is already stored, use `/mydata delete`."
                if changed else "You were already opted out; nothing changed.")
    return ("You're opted back in: your tweetchat answers in this server will be stored "
            "from now on." if changed else "You weren't opted out; nothing changed.")


def purge_expired(store: Store, now: datetime) -> dict[int, int]:
    """Retention: in every server that set a period, remove answers older than it.
    Returns guild_id -> answers removed (servers where nothing went are left out)."""
    purged = {}
    for guild_id, days in store.servers_with_retention():
        counts = store.purge_answers_before(guild_id, now - timedelta(days=days), now)
        if counts["answers"]:
            store.audit(guild_id, "retention purge", at=now,
                        detail=f"{plural(counts['answers'], 'answer')} older than "
                               f"{plural(days, 'day')}")
            log.info("retention: server %s: purged %d answers older than %d days",
                     guild_id, counts["answers"], days)
            purged[guild_id] = counts["answers"]
    if purged:
        store.scrub()
    return purged
