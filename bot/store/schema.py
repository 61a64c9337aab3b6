"""The database schema, as numbered sqlite-utils migrations applied in order at open."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("tweetchat")

# ---------------------------------------------------------------------------------------
# Schema. Never edit a migration that has shipped: add a new one.


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["servers"].create(
        {
            "guild_id": int,
            "timezone": str,
            "host_role_id": int,
            "catch_up": str,
            "reminder_lead_minutes": int,
            "archive_threads": int,
            "updated_at": str,
        },
        pk="guild_id",
        defaults={"reminder_lead_minutes": 30, "archive_threads": 1},
        not_null={"reminder_lead_minutes", "archive_threads"},
    )
    db["chats"].create(
        {
            "id": int,
            "guild_id": int,
            "channel_id": int,
            "title": str,
            "definition": str,  # JSON snapshot of the chat definition when scheduled
            "start_at": str,
            "timezone": str,
            "state": str,
            "created_by": int,
            "created_at": str,
            "paused_at": str,
            "ended_at": str,
            "scheduled_event_id": int,
            "announcement_message_id": int,
        },
        pk="id",
        not_null={"guild_id", "channel_id", "title", "definition", "start_at", "timezone",
                  "state", "created_at"},
    )
    db["chats"].create_index(["guild_id", "state"])
    db["steps"].create(
        {
            "id": int,
            "guild_id": int,
            "chat_id": int,
            "seq": int,
            "kind": str,
            "question": int,
            "due_at": str,
            "state": str,
            "nonce": str,  # Discord message nonce: the same on every attempt of this step
            "attempts": int,
            "not_before": str,
            "claimed_at": str,
            "posted_at": str,
            "message_id": int,
            "thread_id": int,
            "thread_retry_at": str,
            "late_seconds": float,
            "note": str,
            "last_error": str,
        },
        pk="id",
        foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "seq", "kind", "due_at", "state", "nonce", "attempts"},
        defaults={"attempts": 0},
    )
    db["steps"].create_index(["chat_id", "seq"], unique=True)
    db["steps"].create_index(["state", "due_at"])
    db["answers"].create(
        {
            "message_id": int,  # the Discord message id
            "guild_id": int,
            "chat_id": int,
            "question": int,
            "channel_id": int,  # where it was posted (the thread's id for thread answers)
            "via": str,  # "thread" or "channel" (an "A1 ..." message)
            "author_id": int,
            "author_name": str,
            "content": str,  # the current text
            "created_at": str,
            "edited_at": str,
            "deleted_at": str,  # set when the member deleted it (withdrawn)
            "reply_to": int,
            "attachments": str,  # JSON list of {id, filename, size, content_type, url}
        },
        pk="message_id",
        foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "question", "channel_id", "via", "author_id",
                  "author_name", "content", "created_at", "attachments"},
    )
    db["answers"].create_index(["guild_id", "chat_id", "question"])
    db["answers"].create_index(["guild_id", "author_id"])
    db["answer_revisions"].create(
        {
            "id": int,
            "guild_id": int,
            "message_id": int,
            "version": int,  # 0 is the text as first posted
            "content": str,
            "edited_at": str,  # when Discord says this version was written
            "recorded_at": str,
        },
        pk="id",
        foreign_keys=[("message_id", "answers", "message_id")],
        not_null={"guild_id", "message_id", "version", "content", "edited_at", "recorded_at"},
    )
    db["answer_revisions"].create_index(["message_id", "version"], unique=True)
    db["answer_revisions"].create_index(["message_id", "edited_at"], unique=True)
    db["audit_log"].create(
        {
            "id": int,
            "guild_id": int,
            "at": str,
            "actor_id": int,  # None for the bot itself
            "action": str,
            "chat_id": int,
            "detail": str,
        },
        pk="id",
        not_null={"guild_id", "at", "action"},
    )
    db["audit_log"].create_index(["guild_id", "at"])


@migrations()
def m002_lookup_indexes(db: sqlite_utils.Database) -> None:
    # Every incoming message asks "is this channel a question's thread?" and "is a chat
    # running in this channel?".
    db["steps"].create_index(["guild_id", "thread_id"])
    db["chats"].create_index(["guild_id", "channel_id", "state"])


@migrations()
def m003_saved_chats(db: sqlite_utils.Database) -> None:
    # Chats moderators typed in Discord (/tweetchat new), offered when scheduling.
    db["saved_chats"].create(
        {"id": int, "guild_id": int, "title": str, "definition": str, "created_by": int,
         "created_at": str},
        pk="id", not_null={"guild_id", "title", "definition", "created_at"},
    )
    db["saved_chats"].create_index(["guild_id", "title"])


@migrations()
def m004_privacy(db: sqlite_utils.Database) -> None:
    # Members who asked that their messages not be stored (/mydata optout).
    db["optouts"].create({"guild_id": int, "user_id": int, "at": str},
                         pk=("guild_id", "user_id"), not_null={"at"})
    # What is left of erased answers (a member's /mydata delete, or retention): counts
    # with no one's id, so a chat's statistics still add up.
    db["erased_tallies"].create(
        {"id": int, "guild_id": int, "chat_id": int, "question": int, "answers": int,
         "participants": int, "reason": str, "at": str},
        pk="id", foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "question", "answers", "participants", "reason", "at"},
    )
    db["erased_tallies"].create_index(["guild_id", "chat_id"])
    db["servers"].add_column("retention_days", int)
    db["servers"].add_column("share_record", int, not_null_default=0)
    db["answers"].create_index(["guild_id", "created_at"])



@migrations()
def m005_chat_actions(db: sqlite_utils.Database) -> None:
    # What a chat does on Discord besides posting: start its Scheduled Event when the
    # intro is out; end the Event, archive the threads and post the record when it is
    # over. Each is a row claimed and marked done like a step, retried on its own.
    db["chat_actions"].create(
        {
            "id": int,
            "guild_id": int,
            "chat_id": int,
            "action": str,
            "state": str,  # pending, claimed, done
            "due_at": str,
            "attempts": int,
            "not_before": str,
            "claimed_at": str,
            "done_at": str,
            "note": str,
            "last_error": str,
        },
        pk="id",
        foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "action", "state", "due_at", "attempts"},
        defaults={"attempts": 0},
    )
    db["chat_actions"].create_index(["chat_id", "action"], unique=True)
    db["chat_actions"].create_index(["state", "due_at"])


@migrations()
def m006_heartbeat(db: sqlite_utils.Database) -> None:
    # The running bot's own report, read by `tweetchat health` (the image's health check):
    # one row per process, rewritten every half minute.
    db["heartbeats"].create(
        {
            "pid": int,
            "host": str,
            "at": str,  # when this row was last written
            "started_at": str,
            "gateway_ok": int,  # 1 while the gateway connection is up and acknowledging
            "gateway_at": str,  # when it last was
            "dispatcher_alive": int,
            "dispatcher_restarts": int,
        },
        pk="pid",
    )


@migrations()
def m007_ledger_version(db: sqlite_utils.Database) -> None:
    # A counter the command line bumps after changing the ledger (pause, skip, stop...),
    # so that a running bot in another process notices within seconds and re-reads it.
    db["meta"].create({"key": str, "value": int}, pk="key")
    db["meta"].insert({"key": "ledger_version", "value": 0})


@migrations()
def m008_series(db: sqlite_utils.Database) -> None:
    # A recurring chat (/tweetchat series): its rule, and the chats its occurrences take
    # (one for every occurrence, or a queue taken in order). Each occurrence becomes an
    # ordinary chat with its own ledger, numbered within the series; a skipped or swapped
    # occurrence is a row of series_changes.
    db["series"].create(
        {
            "id": int,
            "guild_id": int,
            "channel_id": int,
            "title": str,
            "repeat": str,  # canonical rule: weekly, every-2-weeks, monthly-2nd-monday
            "first_local": str,  # the first start, wall-clock ISO text in `timezone`
            "timezone": str,
            "count": int,  # at most this many occurrences (NULL: no limit)
            "until": str,  # no occurrence after this local date (NULL: no limit)
            "mode": str,  # "same" (one chat every time) or "queue" (each chat once, in order)
            "interval_minutes": float,  # overrides the chats' own interval (NULL: theirs)
            "state": str,  # active, ended (by a moderator), finished (no occurrence left)
            "created_by": int,
            "created_at": str,
            "ended_at": str,
        },
        pk="id",
        not_null={"guild_id", "channel_id", "title", "repeat", "first_local", "timezone",
                  "mode", "state", "created_at"},
    )
    db["series"].create_index(["guild_id", "state"])
    db["series_chats"].create(
        {"id": int, "guild_id": int, "series_id": int, "position": int, "definition": str,
         "added_at": str},
        pk="id", foreign_keys=[("series_id", "series", "id")],
        not_null={"guild_id", "series_id", "position", "definition", "added_at"},
    )
    db["series_chats"].create_index(["series_id", "position"], unique=True)
    db["series_changes"].create(
        {"guild_id": int, "series_id": int, "occurrence": int, "skipped": int,
         "definition": str, "at": str},
        pk=("series_id", "occurrence"), foreign_keys=[("series_id", "series", "id")],
        not_null={"guild_id", "skipped", "at"},
    )
    db["chats"].add_column("series_id", int)
    db["chats"].add_column("occurrence", int)
    # One live chat per occurrence, whoever tops the series up and however often: a
    # cancelled chat (a skipped or swapped occurrence) leaves room for its replacement.
    db.execute("CREATE UNIQUE INDEX idx_chats_series_occurrence ON chats (series_id, occurrence) "
               "WHERE series_id IS NOT NULL AND state != 'cancelled'")


@migrations()
def m009_reminders(db: sqlite_utils.Database) -> None:
    # Reminders that reach people: a role the "starting soon" post pings (members give it
    # themselves), or else a DM to each member who marked the chat's Event interested or
    # turned reminders on (/reminders). reminders_sent holds one row per member per chat,
    # written before the DM is sent: a reminder goes at most once.
    db["servers"].add_column("reminder_role_id", int)
    db["reminder_optins"].create({"guild_id": int, "user_id": int, "at": str},
                                 pk=("guild_id", "user_id"), not_null={"at"})
    db["reminders_sent"].create(
        {"guild_id": int, "chat_id": int, "user_id": int, "at": str, "outcome": str},
        pk=("chat_id", "user_id"), foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "at"})
    db["reminders_sent"].create_index(["guild_id", "user_id"])


@migrations()
def m010_cpd_and_nudges(db: sqlite_utils.Database) -> None:
    # Members' CPD records (/cpd): who wants one after every chat (cpd_optins), who has
    # been sent one for a chat (cpd_sent: one row before the DM goes, so at most once),
    # and their own reflections, private to them.
    db["cpd_optins"].create({"guild_id": int, "user_id": int, "at": str},
                            pk=("guild_id", "user_id"), not_null={"at"})
    db["cpd_sent"].create(
        {"guild_id": int, "chat_id": int, "user_id": int, "at": str, "outcome": str},
        pk=("chat_id", "user_id"), foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "at"})
    db["cpd_sent"].create_index(["guild_id", "user_id"])
    db["reflections"].create(
        {"guild_id": int, "chat_id": int, "user_id": int, "learned": str, "change": str,
         "standards": str, "updated_at": str},
        pk=("chat_id", "user_id"), foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "learned", "change", "standards", "updated_at"})
    db["reflections"].create_index(["guild_id", "user_id"])
    # The confidentiality nudge (a server setting, off by default): who was nudged in which
    # chat, so nobody is nudged twice in one chat. No text is kept.
    db["servers"].add_column("confidentiality_nudge", int, not_null_default=0)
    db["nudges_sent"].create({"guild_id": int, "chat_id": int, "user_id": int, "at": str},
                             pk=("chat_id", "user_id"), foreign_keys=[("chat_id", "chats", "id")],
                             not_null={"guild_id", "at"})
    db["nudges_sent"].create_index(["guild_id", "user_id"])


# When a step or chat action is ready: its due time, or later when a retry waits
# (not_before). One expression, used by the indexes below and by Store.next_due_step, so
# that SQLite reads the next due work from an index instead of scanning the ledger.
READY_AT = "MAX(due_at, COALESCE(not_before, ''))"


@migrations()
def m011_due_work_indexes(db: sqlite_utils.Database) -> None:
    # Pending steps and chat actions in the order they become ready; posted questions whose
    # thread is still to open in retry order; and a chat's actions by id (the "never past
    # an earlier one" check).
    db.execute(f"CREATE INDEX idx_steps_ready ON steps({READY_AT}, id) WHERE state = 'pending'")
    db.execute("CREATE INDEX idx_steps_thread_retry ON steps(thread_retry_at, id) "
               "WHERE state = 'posted' AND thread_retry_at IS NOT NULL")
    db.execute(f"CREATE INDEX idx_chat_actions_ready ON chat_actions({READY_AT}, id) WHERE state = 'pending'")
    db.execute("CREATE INDEX idx_chat_actions_order ON chat_actions(chat_id, id)")


@migrations()
def m012_dispatch_leases(db: sqlite_utils.Database) -> None:
    # Which process dispatches which shard's servers, until when (Store.hold_shards): a
    # step's claim belongs to the holder of its server's shard, so a process restarting or
    # taking over never releases a claim another live process is posting. `wanted_by`: a
    # process whose home shard another holds asks for it back.
    db["dispatch_leases"].create({"shard": int, "owner": str, "until": str, "wanted_by": str},
                                 pk="shard", not_null={"owner", "until"})
