"""Guild scheduled events ("Resources > Guild Scheduled Event").

Create, modify (including the documented status transitions), delete, interested users,
and the GUILD_SCHEDULED_EVENT_* dispatches, with the documented field validation.
"""

from __future__ import annotations

import dataclasses

import datetime as dt
from typing import Any

from . import errors
from . import permissions as perms
from . import state as st

STAGE_INSTANCE, VOICE, EXTERNAL = 1, 2, 3
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
GUILD_ONLY = 2
# "Guild Scheduled Event Status": the only transitions Discord allows.
TRANSITIONS = {SCHEDULED: {ACTIVE, CANCELED}, ACTIVE: {COMPLETED}}


def _time(value: Any, field: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise errors.field_error(field, "DATE_TYPE_PARSE", "Could not parse date. Should be ISO8601.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


class ScheduledEvents:
    """The scheduled events of the world's guilds."""

    def __init__(self, world: st.World) -> None:
        self.world = world

    def _announce(self, name: str, event: st.ScheduledEvent) -> None:
        self.world.dispatch(
            name, self.world.scheduled_event_payload(event), st.DispatchContext(st.GUILD_SCHEDULED_EVENTS, event.guild_id)
        )

    def _may_manage(self, guild_id: int, actor_id: int, event: st.ScheduledEvent | None) -> None:
        granted = self.world.guild_permissions(guild_id, actor_id)
        if granted & perms.MANAGE_EVENTS:
            return
        if granted & perms.CREATE_EVENTS and (event is None or event.creator_id == actor_id):
            return
        raise errors.missing_permissions()

    def get(self, guild_id: int, event_id: int) -> st.ScheduledEvent:
        event = self.world.guild(guild_id).scheduled_events.get(event_id)
        if event is None:
            raise errors.unknown_scheduled_event()
        return event

    def create(self, guild_id: int, actor_id: int, body: dict[str, Any]) -> st.ScheduledEvent:
        """"Create Guild Scheduled Event"."""
        guild = self.world.guild(guild_id)
        self._may_manage(guild_id, actor_id, None)
        for required in ("name", "privacy_level", "scheduled_start_time", "entity_type"):
            if body.get(required) in (None, ""):
                raise errors.field_error(required, "BASE_TYPE_REQUIRED", "This field is required")
        event = st.ScheduledEvent(
            id=self.world.new_id(),
            guild_id=guild.id,
            creator_id=actor_id,
            name="",
            scheduled_start_time=_time(body["scheduled_start_time"], "scheduled_start_time"),
            entity_type=int(body["entity_type"]),
        )
        self._apply(event, body, creating=True)
        guild.scheduled_events[event.id] = event
        self._announce("GUILD_SCHEDULED_EVENT_CREATE", event)
        return event

    def modify(self, guild_id: int, event_id: int, actor_id: int, body: dict[str, Any]) -> st.ScheduledEvent:
        """"Modify Guild Scheduled Event", including status changes."""
        event = self.get(guild_id, event_id)
        self._may_manage(guild_id, actor_id, event)
        if "status" in body and body["status"] is not None:
            status = int(body["status"])
            if status != event.status and status not in TRANSITIONS.get(event.status, set()):
                raise errors.field_error("status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                                         "Invalid status transition.")
        # Validate on a copy: a refused request must change nothing.
        candidate = dataclasses.replace(event)
        self._apply(candidate, body, creating=False)
        event.__dict__.update(candidate.__dict__)
        if "status" in body and body["status"] is not None:
            event.status = int(body["status"])
        self._announce("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return event

    def delete(self, guild_id: int, event_id: int, actor_id: int) -> None:
        event = self.get(guild_id, event_id)
        self._may_manage(guild_id, actor_id, event)
        del self.world.guild(guild_id).scheduled_events[event_id]
        self._announce("GUILD_SCHEDULED_EVENT_DELETE", event)

    def _apply(self, event: st.ScheduledEvent, body: dict[str, Any], *, creating: bool) -> None:
        if "name" in body:
            name = str(body["name"] or "")
            if not 1 <= len(name) <= 100:
                raise errors.field_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            event.name = name
        if "description" in body:
            description = body["description"]
            if description is not None and len(description) > 1000:
                raise errors.field_error("description", "BASE_TYPE_MAX_LENGTH", "Must be 1000 or fewer in length.")
            event.description = description
        if "privacy_level" in body and body["privacy_level"] is not None:
            if int(body["privacy_level"]) != GUILD_ONLY:
                raise errors.field_error("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of {2}.")
            event.privacy_level = GUILD_ONLY
        if "entity_type" in body and body["entity_type"] is not None:
            event.entity_type = int(body["entity_type"])
            if event.entity_type not in (STAGE_INSTANCE, VOICE, EXTERNAL):
                raise errors.field_error("entity_type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        if "scheduled_start_time" in body and body["scheduled_start_time"] is not None:
            start = _time(body["scheduled_start_time"], "scheduled_start_time")
            if start < st.utcnow() and (creating or event.status == SCHEDULED):
                raise errors.field_error("scheduled_start_time", "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                                         "Cannot schedule event in the past.")
            event.scheduled_start_time = start
        if "scheduled_end_time" in body:
            end = body["scheduled_end_time"]
            event.scheduled_end_time = _time(end, "scheduled_end_time") if end is not None else None
        if "channel_id" in body:
            event.channel_id = int(body["channel_id"]) if body["channel_id"] else None
        if "entity_metadata" in body:
            metadata = body["entity_metadata"] or {}
            event.location = metadata.get("location")
        if event.entity_type == EXTERNAL:
            if not event.location or len(event.location) > 100:
                raise errors.field_error("entity_metadata.location", "BASE_TYPE_REQUIRED",
                                         "This field is required for external events (1-100 characters).")
            if event.scheduled_end_time is None:
                raise errors.field_error("scheduled_end_time", "BASE_TYPE_REQUIRED",
                                         "This field is required for external events.")
            if event.channel_id is not None:
                raise errors.field_error("channel_id", "BASE_TYPE_BAD_VALUE", "Must be null for external events.")
        else:
            if event.channel_id is None:
                raise errors.field_error("channel_id", "BASE_TYPE_REQUIRED", "This field is required.")
            channel = self.world.channel(event.channel_id)
            if channel.type not in (st.GUILD_VOICE, 13):
                raise errors.field_error("channel_id", "BASE_TYPE_BAD_VALUE", "Channel must be a voice or stage channel.")
        if event.scheduled_end_time is not None and event.scheduled_end_time <= event.scheduled_start_time:
            raise errors.field_error("scheduled_end_time", "BASE_TYPE_BAD_VALUE",
                                     "The end time must be after the start time.")

    def add_interested(self, guild_id: int, event_id: int, user_id: int) -> None:
        """A member clicks "Interested" (GUILD_SCHEDULED_EVENT_USER_ADD)."""
        event = self.get(guild_id, event_id)
        if user_id in event.interested_user_ids:
            return
        event.interested_user_ids.add(user_id)
        self.world.dispatch(
            "GUILD_SCHEDULED_EVENT_USER_ADD",
            {"guild_scheduled_event_id": str(event.id), "user_id": str(user_id), "guild_id": str(guild_id)},
            st.DispatchContext(st.GUILD_SCHEDULED_EVENTS, guild_id),
        )
