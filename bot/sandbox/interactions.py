"""Application commands and interactions ("Interactions > Application Commands",
"Interactions > Receiving and Responding").

Discord's client checks a command's ``default_member_permissions`` and option values before
anything reaches the bot; :meth:`Interactions.invoke` does the same and raises
:class:`CommandRefused` instead of dispatching, so a refused member never produces an
INTERACTION_CREATE. Responses go through the callback endpoint and the webhook endpoints
exactly as an app's would; ephemeral messages are kept apart, visible to their user only.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from . import errors
from . import permissions as perms
from . import state as st

# "Interaction Object > Interaction Type"
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# "Interaction Response Object > Interaction Callback Type"
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# "Application Command Object > Application Command Option Type"
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
)

TOKEN_LIFETIME = 15 * 60.0
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


class CommandRefused(Exception):
    """Discord's client would not send this interaction (not permitted, unknown, invalid)."""


@dataclass
class Interaction:
    """One interaction and everything the app has answered to it so far."""

    id: int
    token: str
    type: int
    guild_id: int
    channel_id: int
    user_id: int
    data: dict[str, Any]
    message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    callback_type: int | None = None
    callback_data: dict[str, Any] = field(default_factory=dict)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.changed.set()


class Interactions:
    """The application's commands and the interactions members start."""

    def __init__(self, world: st.World, *, response_deadline: float = 3.0) -> None:
        self.world = world
        self.response_deadline = response_deadline
        self.commands: dict[int | None, list[dict[str, Any]]] = {None: []}
        self.by_id: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}

    # --- commands --------------------------------------------------------------------------

    def bulk_overwrite(self, guild_id: int | None, commands: Any) -> list[dict[str, Any]]:
        """"Bulk Overwrite Global/Guild Application Commands": replace the whole set.

        A command keeps its id when one with the same name and type existed before.
        """
        if not isinstance(commands, list):
            raise errors.field_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        previous = {(c["name"], c["type"]): c for c in self.commands.get(guild_id, [])}
        result = []
        seen: set[tuple[str, int]] = set()
        for index, raw in enumerate(commands):
            command = self._validate_command(raw, f"{index}")
            key = (command["name"], command["type"])
            if key in seen:
                raise errors.field_error(
                    f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
                )
            seen.add(key)
            old = previous.get(key)
            command["id"] = old["id"] if old else str(self.world.new_id())
            command["version"] = str(self.world.new_id())
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            result.append(command)
        self.commands[guild_id] = result
        return result

    def upsert(self, guild_id: int | None, raw: Any) -> dict[str, Any]:
        """"Create Global/Guild Application Command": add or replace one command by name."""
        command = self._validate_command(raw, "")
        existing = [c for c in self.commands.get(guild_id, []) if (c["name"], c["type"]) != (command["name"], command["type"])]
        old = [c for c in self.commands.get(guild_id, []) if (c["name"], c["type"]) == (command["name"], command["type"])]
        command["id"] = old[0]["id"] if old else str(self.world.new_id())
        command["version"] = str(self.world.new_id())
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        self.commands[guild_id] = existing + [command]
        return command

    def delete_command(self, guild_id: int | None, command_id: int) -> None:
        commands = self.commands.get(guild_id, [])
        kept = [c for c in commands if int(c["id"]) != command_id]
        if len(kept) == len(commands):
            raise errors.unknown_application_command()
        self.commands[guild_id] = kept

    def _validate_command(self, raw: Any, path: str) -> dict[str, Any]:
        prefix = f"{path}." if path else ""
        if not isinstance(raw, dict):
            raise errors.field_error(f"{path or '_root'}", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        type_ = int(raw.get("type", 1))
        name = raw.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name) or (type_ == 1 and name != name.lower()):
            raise errors.field_error(f"{prefix}name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        description = raw.get("description", "")
        if type_ == 1 and not (1 <= len(description or "") <= 100):
            raise errors.field_error(
                f"{prefix}description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        permissions = raw.get("default_member_permissions")
        if permissions is not None:
            try:
                permissions = str(int(permissions))
            except (TypeError, ValueError):
                raise errors.field_error(
                    f"{prefix}default_member_permissions", "NUMBER_TYPE_COERCE", "Value is not int."
                ) from None
        return {
            "type": type_,
            "application_id": str(self.world.application_id),
            "name": name,
            "name_localizations": raw.get("name_localizations"),
            "description": description if type_ == 1 else "",
            "description_localizations": raw.get("description_localizations"),
            "options": list(raw.get("options") or []),
            "default_member_permissions": permissions,
            "dm_permission": raw.get("dm_permission", True),
            "nsfw": bool(raw.get("nsfw", False)),
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types") or [0],
        }

    def find_command(self, guild_id: int, name: str, type_: int = 1) -> dict[str, Any] | None:
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command["type"] == type_:
                    return command
        return None

    # --- starting interactions -------------------------------------------------------------

    def may_use(self, command: dict[str, Any], channel_id: int, user_id: int) -> bool:
        """Whether Discord's client offers this command to the member in this channel."""
        granted = self.world.channel_permissions(channel_id, user_id)
        if not granted & perms.VIEW_CHANNEL or not granted & perms.USE_APPLICATION_COMMANDS:
            return False
        required = command.get("default_member_permissions")
        if required is None:
            return True
        return (granted & int(required)) == int(required) and (int(required) != 0 or granted == perms.ALL)

    def invoke(
        self,
        user_id: int,
        channel_id: int,
        command_path: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str | None = None,
    ) -> Interaction:
        """A member runs ``/command_path`` (``"chat start"`` for a subcommand) with options,
        or, with ``focused``, asks for autocomplete on that option."""
        channel = self.world.channel(channel_id)
        names = command_path.strip().lstrip("/").split()
        if not names:
            raise CommandRefused("empty command")
        command = self.find_command(channel.guild_id, names[0])
        if command is None:
            raise CommandRefused(f"/{names[0]} is not registered for this guild")
        if not self.may_use(command, channel_id, user_id):
            raise CommandRefused(f"/{names[0]} is not available to this member (default_member_permissions)")
        resolved: dict[str, dict[str, Any]] = {}
        tree = command.get("options") or []
        nested: list[dict[str, Any]] = []
        container = nested
        for sub in names[1:]:
            match = next((o for o in tree if o.get("name") == sub and o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
            if match is None:
                raise CommandRefused(f"/{command_path}: no subcommand {sub!r}")
            entry: dict[str, Any] = {"name": sub, "type": match["type"], "options": []}
            container.append(entry)
            container = entry["options"]
            tree = match.get("options") or []
        container.extend(self._options(tree, options or {}, focused, resolved, guild_id=channel.guild_id))
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command["type"],
        }
        if nested:
            data["options"] = nested
        elif container:
            data["options"] = container
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return self._start(AUTOCOMPLETE if focused else APPLICATION_COMMAND, user_id, channel_id, data)

    def _options(
        self,
        schema: list[dict[str, Any]],
        values: dict[str, Any],
        focused: str | None,
        resolved: dict[str, dict[str, Any]],
        *,
        guild_id: int,
    ) -> list[dict[str, Any]]:
        known = {o["name"]: o for o in schema}
        for name in values:
            if name not in known:
                raise CommandRefused(f"unknown option {name!r}")
        result = []
        for option in schema:
            name = option["name"]
            if name not in values:
                if option.get("required") and focused is None:
                    raise CommandRefused(f"option {name!r} is required")
                continue
            value = values[name]
            entry: dict[str, Any] = {"name": name, "type": option["type"]}
            if name == focused:
                entry.update(value=str(value), focused=True)
                result.append(entry)
                continue
            entry["value"] = self._option_value(option, value, resolved, guild_id)
            result.append(entry)
        return result

    def _option_value(self, option: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], guild_id: int) -> Any:
        type_ = option["type"]
        choices = option.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise CommandRefused(f"{value!r} is not a choice of {option['name']!r}")
        if type_ == STRING:
            text = str(value)
            if not option.get("min_length", 0) <= len(text) <= option.get("max_length", 6000):
                raise CommandRefused(f"{option['name']!r} has the wrong length")
            return text
        if type_ in (INTEGER, NUMBER):
            number = int(value) if type_ == INTEGER else float(value)
            if ("min_value" in option and option["min_value"] is not None and number < option["min_value"]) or (
                "max_value" in option and option["max_value"] is not None and number > option["max_value"]
            ):
                raise CommandRefused(f"{option['name']!r} is out of range")
            return number
        if type_ == BOOLEAN:
            return bool(value)
        if type_ in (USER, MENTIONABLE):
            member = self.world.member(guild_id, int(value))
            resolved.setdefault("users", {})[str(member.user.id)] = member.user.payload()
            resolved.setdefault("members", {})[str(member.user.id)] = {
                **member.payload(with_user=False),
                "permissions": str(self.world.guild_permissions(guild_id, member.user.id)),
            }
            return str(member.user.id)
        if type_ == CHANNEL:
            channel = self.world.channel(int(value))
            partial = channel.payload()
            partial["permissions"] = str(self.world.channel_permissions(channel.id, self.world.bot.id))
            resolved.setdefault("channels", {})[str(channel.id)] = partial
            return str(channel.id)
        if type_ == ROLE:
            role = self.world.guild(guild_id).roles[int(value)]
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        if type_ == ATTACHMENT:
            attachment: st.Attachment = value
            resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.payload(
                self.world.cdn_base, 0
            )
            return str(attachment.id)
        raise CommandRefused(f"option type {type_} is not emulated")

    def press(self, user_id: int, message: st.Message, custom_id: str, *, values: list[str] | None = None) -> Interaction:
        """A member clicks a button (or picks ``values`` in a select menu) on ``message``."""
        component = _find_component(message.components, custom_id)
        if component is None:
            raise CommandRefused(f"no component with custom_id {custom_id!r} on message {message.id}")
        if component.get("disabled"):
            raise CommandRefused(f"component {custom_id!r} is disabled")
        if message.visible_to is not None and message.visible_to != user_id:
            raise CommandRefused("that ephemeral message belongs to someone else")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        if values is not None:
            data["values"] = list(values)
        return self._start(MESSAGE_COMPONENT, user_id, message.channel_id, data, message=message)

    def submit_modal(self, user_id: int, opened_by: Interaction, values: dict[str, str]) -> Interaction:
        """A member fills in the modal the app answered ``opened_by`` with, and submits it."""
        if opened_by.callback_type != MODAL:
            raise CommandRefused("that interaction was not answered with a modal")
        modal = opened_by.callback_data
        components = []
        remaining = dict(values)
        for row in modal.get("components", []):
            components.append(_submitted(row, remaining))
        if remaining:
            raise CommandRefused(f"the modal has no inputs {sorted(remaining)}")
        for row in components:
            for text_input in _text_inputs(row):
                if text_input.get("_required") and not text_input.get("value"):
                    raise CommandRefused(f"input {text_input['custom_id']!r} is required")
                text_input.pop("_required", None)
        data = {"custom_id": modal.get("custom_id"), "components": components}
        message = None
        if opened_by.message_id is not None:
            message = self.world.any_message(opened_by.message_id)
        return self._start(MODAL_SUBMIT, user_id, opened_by.channel_id, data, message=message)

    def _start(
        self, type_: int, user_id: int, channel_id: int, data: dict[str, Any], *, message: st.Message | None = None
    ) -> Interaction:
        world = self.world
        channel = world.channel(channel_id)
        guild = world.guild(channel.guild_id)
        member = world.member(guild.id, user_id)
        interaction = Interaction(
            id=world.new_id(),
            token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            type=type_,
            guild_id=guild.id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            message_id=message.id if message is not None else None,
        )
        self.by_id[interaction.id] = interaction
        self.by_token[interaction.token] = interaction
        channel_payload = channel.payload()
        channel_payload["permissions"] = str(world.channel_permissions(channel_id, user_id))
        payload: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(world.application_id),
            "type": type_,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": channel_payload,
            "member": {
                **member.payload(),
                "permissions": str(world.channel_permissions(channel_id, user_id)),
            },
            "token": interaction.token,
            "version": 1,
            "app_permissions": str(world.channel_permissions(channel_id, world.bot.id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = world.message_payload(message)
        world.dispatch("INTERACTION_CREATE", payload, st.DispatchContext(None, guild.id))
        return interaction

    # --- answering (called by the REST layer) ----------------------------------------------

    def _interaction(self, interaction_id: int, token: str) -> Interaction:
        interaction = self.by_id.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise errors.unknown_interaction()
        return interaction

    def by_webhook_token(self, application_id: int, token: str) -> Interaction:
        interaction = self.by_token.get(token)
        if interaction is None or application_id != self.world.application_id:
            raise errors.unknown_webhook()
        if time.monotonic() - interaction.created > TOKEN_LIFETIME:
            raise errors.invalid_webhook_token()
        return interaction

    def _metadata(self, interaction: Interaction) -> dict[str, Any]:
        """"Message Interaction Metadata Object" for messages answering an interaction."""
        meta: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": self.world.users[interaction.user_id].payload(),
            "authorizing_integration_owners": {"0": str(interaction.guild_id)},
        }
        if interaction.type == APPLICATION_COMMAND:
            meta["name"] = interaction.data.get("name", "")
            meta["command_type"] = interaction.data.get("type", 1)
        elif interaction.message_id is not None:
            meta["interacted_message_id"] = str(interaction.message_id)
        return meta

    def new_message(
        self,
        interaction: Interaction,
        body: dict[str, Any],
        attachments: list[st.Attachment],
        *,
        ephemeral: bool,
        loading: bool = False,
        followup_of: int | None = None,
    ) -> st.Message:
        """Create a message from the app's webhook: public ones join channel history."""
        world = self.world
        content = body.get("content") or ""
        if len(content) > st.MAX_CONTENT_LENGTH:
            raise errors.field_error("data.content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        if not loading and not content and not body.get("embeds") and not attachments and not body.get("components"):
            raise errors.empty_message()
        flags = (st.EPHEMERAL if ephemeral else 0) | (st.LOADING if loading else 0)
        metadata = self._metadata(interaction)
        if followup_of is not None:
            metadata["original_response_message_id"] = str(followup_of)
        message = st.Message(
            id=world.new_id(),
            channel_id=interaction.channel_id,
            guild_id=interaction.guild_id,
            author=world.bot,
            content=content,
            type=st.CHAT_INPUT_COMMAND if interaction.type == APPLICATION_COMMAND and followup_of is None else st.DEFAULT,
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=attachments,
            flags=flags,
            webhook_id=world.application_id,
            interaction_metadata=metadata,
            visible_to=interaction.user_id if ephemeral else None,
        )
        if ephemeral:
            world.ephemeral_messages[message.id] = message
            world.dispatch("EPHEMERAL_CREATE", {"id": str(message.id)}, st.DispatchContext(st.INTERNAL, message=message))
        else:
            world.store_system_message(world.channel(interaction.channel_id), message)
        return message

    def callback(
        self, interaction_id: int, token: str, body: dict[str, Any], attachments: list[st.Attachment]
    ) -> tuple[Interaction, st.Message | None]:
        """"Create Interaction Response": the one initial answer, within the deadline."""
        interaction = self._interaction(interaction_id, token)
        if interaction.callback_type is not None:
            raise errors.already_acknowledged()
        if time.monotonic() - interaction.created > self.response_deadline:
            raise errors.unknown_interaction()
        type_ = body.get("type")
        data = body.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
            MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL},
            MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE},
            AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
        }[interaction.type]
        if type_ not in allowed:
            raise errors.APIError(400, 40043, "Interaction callback type is not valid for this interaction type")
        message = None
        ephemeral = bool(int(data.get("flags") or 0) & st.EPHEMERAL)
        if type_ == CHANNEL_MESSAGE:
            message = self.new_message(interaction, data, attachments, ephemeral=ephemeral)
            interaction.original_message_id = message.id
        elif type_ == DEFERRED_CHANNEL_MESSAGE:
            message = self.new_message(interaction, {}, [], ephemeral=ephemeral, loading=True)
            interaction.original_message_id = message.id
        elif type_ in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if interaction.message_id is None:
                raise errors.APIError(400, 40043, "Interaction callback type is not valid for this interaction type")
            interaction.original_message_id = interaction.message_id
            if type_ == UPDATE_MESSAGE:
                message = self.world.any_message(interaction.message_id)
                if message is None:
                    raise errors.unknown_message()
                self.world.apply_edit(message, data, attachments)
        elif type_ == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise errors.field_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        elif type_ == MODAL:
            if not data.get("custom_id") or not data.get("title") or not data.get("components"):
                raise errors.field_error("data.components", "BASE_TYPE_REQUIRED", "This field is required")
        interaction.callback_type = type_
        interaction.callback_data = data
        interaction.touch()
        return interaction, message

    def callback_response(self, interaction: Interaction, message: st.Message | None) -> dict[str, Any]:
        """"Interaction Callback Response Object" (``with_response=true``)."""
        original = (
            self.world.any_message(interaction.original_message_id) if interaction.original_message_id else None
        )
        info: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if original is not None and interaction.callback_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            info.update(
                response_message_id=str(original.id),
                response_message_loading=bool(original.flags & st.LOADING),
                response_message_ephemeral=original.ephemeral,
            )
        response: dict[str, Any] = {"interaction": info}
        resource: dict[str, Any] = {"type": interaction.callback_type}
        if message is not None:
            resource["message"] = self.world.message_payload(message)
        response["resource"] = resource
        return response

    def followup(self, interaction: Interaction, body: dict[str, Any], attachments: list[st.Attachment]) -> st.Message:
        """"Create Followup Message". After a deferral the first follow-up fills in the
        loading message (keeping the deferral's ephemerality) instead of adding one."""
        if interaction.callback_type is None:
            raise errors.unknown_webhook()
        original = self.world.any_message(interaction.original_message_id or 0)
        if (
            interaction.callback_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.flags & st.LOADING
        ):
            self.world.apply_edit(original, body, attachments)
            interaction.touch()
            return original
        ephemeral = bool(int(body.get("flags") or 0) & st.EPHEMERAL)
        message = self.new_message(
            interaction, body, attachments, ephemeral=ephemeral, followup_of=interaction.original_message_id
        )
        interaction.followup_ids.append(message.id)
        interaction.touch()
        return message

    def webhook_message(self, interaction: Interaction, message_id: str) -> st.Message:
        """The message ``@original`` or a follow-up id names for this interaction."""
        if message_id == "@original":
            if interaction.original_message_id is None:
                raise errors.unknown_message()
            target = interaction.original_message_id
        else:
            target = int(message_id)
            if target not in interaction.followup_ids and target != interaction.original_message_id:
                raise errors.unknown_message()
        message = self.world.any_message(target)
        if message is None:
            raise errors.unknown_message()
        return message

    def edit(self, interaction: Interaction, message_id: str, body: dict[str, Any], attachments: list[st.Attachment]) -> st.Message:
        message = self.webhook_message(interaction, message_id)
        self.world.apply_edit(message, body, attachments)
        interaction.touch()
        return message

    def delete(self, interaction: Interaction, message_id: str) -> None:
        message = self.webhook_message(interaction, message_id)
        if message.visible_to is not None:
            self.world.ephemeral_messages.pop(message.id, None)
        else:
            self.world.delete_message(message.channel_id, message.id, self.world.bot.id, check=False)
        interaction.touch()


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        for key in ("components", "accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                child = [child]
            if isinstance(child, list):
                found = _find_component(child, custom_id)
                if found is not None:
                    return found
    return None


def _submitted(component: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Mirror a modal component as Discord submits it: text inputs carry their value."""
    type_ = component.get("type")
    if type_ == 4:  # Text input
        custom_id = component.get("custom_id", "")
        value = values.pop(custom_id, component.get("value") or "")
        result = {"type": 4, "custom_id": custom_id, "value": value, "_required": component.get("required", True)}
        if "id" in component:
            result["id"] = component["id"]
        return result
    if type_ == 3:  # String select inside a label
        custom_id = component.get("custom_id", "")
        picked = values.pop(custom_id, [])
        return {"type": 3, "custom_id": custom_id, "values": list(picked) if isinstance(picked, list) else [picked]}
    result = {k: v for k, v in component.items() if k in ("type", "id")}
    if "components" in component:
        result["components"] = [_submitted(c, values) for c in component["components"]]
    if "component" in component:
        result["component"] = _submitted(component["component"], values)
    return result


def _text_inputs(component: dict[str, Any]) -> list[dict[str, Any]]:
    if component.get("type") == 4:
        return [component]
    found = []
    for child in component.get("components", []):
        found.extend(_text_inputs(child))
    if "component" in component:
        found.extend(_text_inputs(component["component"]))
    return found
