"""The sandbox refuses what Discord refuses: one value just past each documented limit, sent
as raw HTTP, answered with Discord's 400 50035 and the `errors` tree naming the field.

Limits come from Discord's OpenAPI spec (bot/sandbox/spec/openapi.json) and, where the
developer documentation says more, from the docs (bot/sandbox/contract.py names each)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.sandbox import SandboxConfig
from bot.sandbox.members import InteractionHandle

MESSAGES = "/channels/{channel}/messages"


def row(*components: dict) -> dict:
    return {"type": 1, "components": list(components)}


def button(**extra: Any) -> dict:
    return {"type": 2, "style": 1, "label": "OK", "custom_id": "ok", **extra}


def select(options: list[dict] | None = None, **extra: Any) -> dict:
    return {"type": 3, "custom_id": "pick", "options": options or [{"label": "a", "value": "a"}], **extra}


def embed(**fields: Any) -> dict:
    return {"title": "t", **fields}


def command(**extra: Any) -> dict:
    return {"name": "chat", "description": "Run a chat", "type": 1, **extra}


def option(name: str = "topic", **extra: Any) -> dict:
    return {"type": 3, "name": name, "description": "A topic", **extra}


def field_at(tree: dict, path: str) -> list[dict]:
    node = tree
    for part in path.split("."):
        assert part in node, f"no {part!r} on the way to {path} in {json.dumps(tree)[:400]}"
        node = node[part]
    return node["_errors"]


async def call(sb, method: str, path: str, body: Any = None, *, auth: bool = True, form: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {sb.bot_token}"} if auth else {}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, sb.api_base + path, json=body if form is None else None,
                                   data=form, headers=headers) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)


def assert_refused(status: int, body: Any, path: str, code: str) -> None:
    assert status == 400, body
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    assert code in [e["code"] for e in field_at(body["errors"], path)], body


# --- messages: content, embeds, components, nonce, allowed mentions -------------------------

MESSAGE_CASES = [
    ("content 2,001", {"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH"),
    ("11 embeds", {"embeds": [embed() for _ in range(11)]}, "embeds", "BASE_TYPE_MAX_LENGTH"),
    ("embed title 257", {"embeds": [embed(title="x" * 257)]}, "embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
    ("embed description 4,097", {"embeds": [embed(description="x" * 4097)]}, "embeds.0.description",
     "BASE_TYPE_MAX_LENGTH"),
    ("26 embed fields", {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * 26)]}, "embeds.0.fields",
     "BASE_TYPE_MAX_LENGTH"),
    ("field name 257", {"embeds": [embed(fields=[{"name": "x" * 257, "value": "v"}])]},
     "embeds.0.fields.0.name", "BASE_TYPE_MAX_LENGTH"),
    ("field value 1,025", {"embeds": [embed(fields=[{"name": "n", "value": "x" * 1025}])]},
     "embeds.0.fields.0.value", "BASE_TYPE_MAX_LENGTH"),
    ("field without a value", {"embeds": [embed(fields=[{"name": "n"}])]}, "embeds.0.fields.0.value",
     "BASE_TYPE_REQUIRED"),
    ("footer 2,049", {"embeds": [embed(footer={"text": "x" * 2049})]}, "embeds.0.footer.text",
     "BASE_TYPE_MAX_LENGTH"),
    ("author name 257", {"embeds": [embed(author={"name": "x" * 257})]}, "embeds.0.author.name",
     "BASE_TYPE_MAX_LENGTH"),
    ("6,001 characters over two embeds",
     {"embeds": [embed(title="", description="x" * 3000), embed(title="", description="x" * 3001)]},
     "embeds", "MAX_EMBED_SIZE_EXCEEDED"),
    ("colour above 0xFFFFFF", {"embeds": [embed(color=0x1000000)]}, "embeds.0.color", "NUMBER_TYPE_MAX"),
    ("6 action rows", {"content": "x", "components": [row(button(custom_id=f"b{i}")) for i in range(6)]},
     "components", "BASE_TYPE_MAX_LENGTH"),
    ("6 buttons in a row", {"content": "x", "components": [row(*[button(custom_id=f"b{i}") for i in range(6)])]},
     "components.0.components", "BASE_TYPE_MAX_LENGTH"),
    ("empty action row", {"content": "x", "components": [row()]}, "components.0.components",
     "BASE_TYPE_MIN_LENGTH"),
    ("button label 81", {"content": "x", "components": [row(button(label="x" * 81))]},
     "components.0.components.0.label", "BASE_TYPE_MAX_LENGTH"),
    ("custom_id 101", {"content": "x", "components": [row(button(custom_id="x" * 101))]},
     "components.0.components.0.custom_id", "BASE_TYPE_BAD_LENGTH"),
    ("button without custom_id", {"content": "x", "components": [row({"type": 2, "style": 1, "label": "OK"})]},
     "components.0.components.0.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED"),
    ("link button without url", {"content": "x", "components": [row({"type": 2, "style": 5, "label": "Go"})]},
     "components.0.components.0.url", "BUTTON_COMPONENT_URL_REQUIRED"),
    ("link button with custom_id",
     {"content": "x", "components": [row({"type": 2, "style": 5, "label": "Go", "url": "https://x.org", "custom_id": "c"})]},
     "components.0.components.0.custom_id", "BUTTON_COMPONENT_INVALID_FIELD"),
    ("button style 7", {"content": "x", "components": [row(button(style=7))]},
     "components.0.components.0.style", "BASE_TYPE_CHOICES"),
    ("unknown component type", {"content": "x", "components": [row({"type": 99, "custom_id": "c"})]},
     "components.0.components.0", "UNION_TYPE_CHOICES"),
    ("select with 26 options",
     {"content": "x", "components": [row(select([{"label": f"o{i}", "value": f"{i}"} for i in range(26)]))]},
     "components.0.components.0.options", "BASE_TYPE_MAX_LENGTH"),
    ("select option label 101", {"content": "x", "components": [row(select([{"label": "x" * 101, "value": "v"}]))]},
     "components.0.components.0.options.0.label", "BASE_TYPE_BAD_LENGTH"),
    ("select option value 101", {"content": "x", "components": [row(select([{"label": "l", "value": "x" * 101}]))]},
     "components.0.components.0.options.0.value", "BASE_TYPE_BAD_LENGTH"),
    ("select option description 101",
     {"content": "x", "components": [row(select([{"label": "l", "value": "v", "description": "x" * 101}]))]},
     "components.0.components.0.options.0.description", "BASE_TYPE_MAX_LENGTH"),
    ("select placeholder 151", {"content": "x", "components": [row(select(placeholder="x" * 151))]},
     "components.0.components.0.placeholder", "BASE_TYPE_MAX_LENGTH"),
    ("a select beside a button", {"content": "x", "components": [row(select(), button())]},
     "components.0.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ("nonce of 26 characters", {"content": "x", "nonce": "x" * 26}, "nonce", "BASE_TYPE_MAX_LENGTH"),
    ("allowed_mentions parse value", {"content": "x", "allowed_mentions": {"parse": ["channels"]}},
     "allowed_mentions.parse.0", "BASE_TYPE_CHOICES"),
    ("allowed_mentions parse users and a user list",
     {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["80351110224678912"]}},
     "allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    ("content not a string", {"content": {"text": "x"}}, "content", "STRING_TYPE_CONVERT"),
]


@pytest.mark.parametrize("body,path,code", [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES])
async def test_create_message_refusals(sandbox, body, path, code):
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id), body)
    assert_refused(status, answer, path, code)
    assert not [m for m in sandbox.history() if m.author.id == sandbox.bot_user_id], "nothing was posted"


async def test_refusals_are_reported_together_and_change_nothing(sandbox):
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id),
                                {"content": "x" * 2001, "embeds": [embed(title="x" * 257)]})
    assert_refused(status, answer, "content", "BASE_TYPE_MAX_LENGTH")
    assert_refused(status, answer, "embeds.0.title", "BASE_TYPE_MAX_LENGTH")


async def test_the_limits_themselves_are_accepted(sandbox):
    """Exactly at each limit Discord accepts: the sandbox must too."""
    body = {
        "content": "x" * 2000, "nonce": "n" * 25,
        "embeds": [embed(title="x" * 256, description="x" * 1800, footer={"text": "x" * 900},
                         fields=[{"name": "n", "value": "x" * 120}] * 25)],
        "components": [row(*[button(custom_id=f"{i}" * 100, label="x" * 80) for i in range(5)])] +
                      [row(button(custom_id=f"r{i}")) for i in range(4)],
    }
    assert sum(len(f["value"]) + 1 for f in body["embeds"][0]["fields"]) + 256 + 1800 + 900 <= 6000
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id), body)
    assert status == 200, answer
    assert answer["embeds"][0]["type"] == "rich"


async def test_edits_are_held_to_the_same_limits(sandbox):
    status, message = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id), {"content": "hi"})
    assert status == 200
    status, answer = await call(sandbox, "PATCH", f"/channels/{sandbox.channel_id}/messages/{message['id']}",
                                {"embeds": [embed(description="x" * 4097)]})
    assert_refused(status, answer, "embeds.0.description", "BASE_TYPE_MAX_LENGTH")
    assert next(m for m in sandbox.history() if m.id == int(message["id"])).embeds == []


# --- attachments ----------------------------------------------------------------------------


def upload_form(count: int, size: int) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(
        {"content": "files", "attachments": [{"id": i, "filename": f"f{i}.txt"} for i in range(count)]}),
        content_type="application/json")
    for i in range(count):
        form.add_field(f"files[{i}]", b"x" * size, filename=f"f{i}.txt", content_type="text/plain")
    return form


async def test_eleven_files_are_refused(sandbox):
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id),
                                form=upload_form(11, 10))
    assert_refused(status, answer, "files", "BASE_TYPE_MAX_LENGTH")


async def test_uploads_over_ten_mebibytes_are_too_large(sandbox):
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id),
                                form=upload_form(2, 5 * 1024 * 1024 + 1))
    assert status == 413 and answer["code"] == 40005, answer
    status, answer = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id),
                                form=upload_form(10, 1000))
    assert status == 200 and len(answer["attachments"]) == 10


# --- threads and scheduled events -----------------------------------------------------------


@pytest.mark.parametrize("name,code", [("x" * 101, "BASE_TYPE_BAD_LENGTH"), ("", "BASE_TYPE_BAD_LENGTH")],
                         ids=["101 characters", "empty"])
async def test_thread_names(sandbox, name, code):
    status, message = await call(sandbox, "POST", MESSAGES.format(channel=sandbox.channel_id), {"content": "Q1"})
    status, answer = await call(sandbox, "POST", f"/channels/{sandbox.channel_id}/messages/{message['id']}/threads",
                                {"name": name, "auto_archive_duration": 1440})
    assert_refused(status, answer, "name", code)
    status, answer = await call(sandbox, "POST", f"/channels/{sandbox.channel_id}/messages/{message['id']}/threads",
                                {"name": "Q1", "auto_archive_duration": 1441})
    assert_refused(status, answer, "auto_archive_duration", "BASE_TYPE_CHOICES")
    status, answer = await call(sandbox, "POST", f"/channels/{sandbox.channel_id}/messages/{message['id']}/threads",
                                {"name": "x" * 100, "auto_archive_duration": 1440})
    assert status == 201, answer


EVENT = {"name": "Physiotalk", "privacy_level": 2, "entity_type": 3, "entity_metadata": {"location": "#tweetchat"},
         "scheduled_start_time": "2999-01-01T20:00:00+00:00", "scheduled_end_time": "2999-01-01T21:00:00+00:00"}


@pytest.mark.parametrize("change,path,code", [
    ({"name": "x" * 101}, "name", "BASE_TYPE_MAX_LENGTH"),
    ({"description": "x" * 1001}, "description", "BASE_TYPE_MAX_LENGTH"),
    ({"entity_metadata": {"location": "x" * 101}}, "entity_metadata.location", "BASE_TYPE_MAX_LENGTH"),
    ({"privacy_level": 1}, "privacy_level", "BASE_TYPE_CHOICES"),
    ({"entity_type": 9}, "entity_type", "BASE_TYPE_CHOICES"),
], ids=["name 101", "description 1,001", "location 101", "public privacy level", "entity type 9"])
async def test_scheduled_event_fields(sandbox, change, path, code):
    status, answer = await call(sandbox, "POST", f"/guilds/{sandbox.guild_id}/scheduled-events", {**EVENT, **change})
    assert_refused(status, answer, path, code)


# --- the application command tree -----------------------------------------------------------

COMMAND_CASES = [
    ("name with a space", [command(name="run chat")], "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("name in capitals", [command(name="Chat")], "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("name 33", [command(name="x" * 33)], "0.name", "BASE_TYPE_BAD_LENGTH"),
    ("description 101", [command(description="x" * 101)], "0.description", "BASE_TYPE_MAX_LENGTH"),
    ("no description", [command(description="")], "0.description", "BASE_TYPE_BAD_LENGTH"),
    ("26 options", [command(options=[option(f"o{i}") for i in range(26)])], "0.options", "BASE_TYPE_MAX_LENGTH"),
    ("option description 101", [command(options=[option(description="x" * 101)])], "0.options.0.description",
     "BASE_TYPE_BAD_LENGTH"),
    ("option name invalid", [command(options=[option("a topic")])], "0.options.0.name",
     "APPLICATION_COMMAND_INVALID_NAME"),
    ("26 choices", [command(options=[option(choices=[{"name": f"c{i}", "value": f"{i}"} for i in range(26)])])],
     "0.options.0.choices", "BASE_TYPE_MAX_LENGTH"),
    ("choice name 101", [command(options=[option(choices=[{"name": "x" * 101, "value": "v"}])])],
     "0.options.0.choices.0.name", "BASE_TYPE_BAD_LENGTH"),
    ("choice value 101", [command(options=[option(choices=[{"name": "n", "value": "x" * 101}])])],
     "0.options.0.choices.0.value", "BASE_TYPE_BAD_LENGTH"),
    ("required after optional", [command(options=[option("a"), option("b", required=True)])],
     "0.options.1.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"),
    ("two options of one name", [command(options=[option("a"), option("a")])], "0.options.1.name",
     "APPLICATION_COMMAND_OPTION_NAME_NOT_UNIQUE"),
    ("two commands of one name", [command(), command()], "1.name", "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ("over 4,000 characters in all",
     [command(options=[{"type": 1, "name": f"s{i}", "description": "x" * 100,
                        "options": [option(f"o{j}", description="x" * 100) for j in range(10)]} for i in range(4)])],
     "0", "APPLICATION_COMMAND_TOO_LARGE"),
    ("option type 99", [command(options=[{"type": 99, "name": "o", "description": "d"}])], "0.options.0",
     "UNION_TYPE_CHOICES"),
]


@pytest.mark.parametrize("tree,path,code", [c[1:] for c in COMMAND_CASES], ids=[c[0] for c in COMMAND_CASES])
async def test_command_tree_refusals(sandbox, tree, path, code):
    route = f"/applications/{sandbox.application_id}/guilds/{sandbox.guild_id}/commands"
    status, good = await call(sandbox, "PUT", route, [command(name="keep")])
    assert status == 200
    status, answer = await call(sandbox, "PUT", route, tree)
    assert_refused(status, answer, path, code)
    # Discord rejects a bulk overwrite whole: the tree before it stands.
    assert [c["name"] for c in sandbox.interactions.commands[sandbox.guild_id]] == ["keep"]


# --- interaction responses ------------------------------------------------------------------


@pytest.fixture
async def interaction(sandbox):
    """A real interaction: a member runs a registered command (no bot answers it)."""
    route = f"/applications/{sandbox.application_id}/guilds/{sandbox.guild_id}/commands"
    status, _ = await call(sandbox, "PUT", route, [command(options=[option(autocomplete=True)])])
    assert status == 200
    handle = await sandbox.member("pat").invoke("chat")
    record = handle.interaction
    return f"/interactions/{record.id}/{record.token}/callback", handle


async def autocomplete_interaction(sandbox):
    """A member typing into an autocomplete option; the handle waits for the choices."""
    route = f"/applications/{sandbox.application_id}/guilds/{sandbox.guild_id}/commands"
    await call(sandbox, "PUT", route, [command(options=[option(autocomplete=True)])])
    record = sandbox.interactions.invoke(sandbox.member("pat").id, sandbox.channel_id, "chat", {"topic": "co"},
                                         focused="topic")
    return f"/interactions/{record.id}/{record.token}/callback", InteractionHandle(sandbox, record)


def modal(**data: Any) -> dict:
    text = {"type": 4, "custom_id": "r", "style": 1, "label": "Reflection"}
    text.update(data.pop("text", {}))
    return {"type": 9, "data": {"custom_id": "m", "title": "Reflect", "components": [row(text)], **data}}


CALLBACK_CASES = [
    ("content 2,001", {"type": 4, "data": {"content": "x" * 2001}}, "data.content", "BASE_TYPE_MAX_LENGTH"),
    ("embed description 4,097", {"type": 4, "data": {"embeds": [embed(description="x" * 4097)]}},
     "data.embeds.0.description", "BASE_TYPE_MAX_LENGTH"),
    ("modal title 46", modal(title="x" * 46), "data.title", "BASE_TYPE_BAD_LENGTH"),
    ("modal with 6 rows", modal(components=[row({"type": 4, "custom_id": f"r{i}", "style": 1, "label": "L"})
                                            for i in range(6)]), "data.components", "BASE_TYPE_MAX_LENGTH"),
    ("text input label 46", modal(text={"label": "x" * 46}), "data.components.0.components.0.label",
     "BASE_TYPE_BAD_LENGTH"),
    ("text input placeholder 101", modal(text={"placeholder": "x" * 101}),
     "data.components.0.components.0.placeholder", "BASE_TYPE_MAX_LENGTH"),
    ("text input value 4,001", modal(text={"value": "x" * 4001}), "data.components.0.components.0.value",
     "BASE_TYPE_MAX_LENGTH"),
    ("text input max_length 4,001", modal(text={"max_length": 4001}),
     "data.components.0.components.0.max_length", "NUMBER_TYPE_MAX"),
    ("text input min above max", modal(text={"min_length": 10, "max_length": 5}),
     "data.components.0.components.0.min_length", "BASE_TYPE_BAD_VALUE"),
    ("modal custom_id 101", modal(custom_id="x" * 101), "data.custom_id", "BASE_TYPE_BAD_LENGTH"),
]


@pytest.mark.parametrize("body,path,code", [c[1:] for c in CALLBACK_CASES], ids=[c[0] for c in CALLBACK_CASES])
async def test_interaction_response_refusals(sandbox, interaction, body, path, code):
    callback, handle = interaction
    status, answer = await call(sandbox, "POST", callback, body, auth=False)
    assert_refused(status, answer, path, code)
    # The refused response was not the initial response: a good one still goes through.
    status, answer = await call(sandbox, "POST", callback, {"type": 4, "data": {"content": "ok"}}, auth=False)
    assert status == 204, answer


async def test_only_one_initial_response_of_a_valid_type(sandbox, interaction):
    callback, handle = interaction
    status, answer = await call(sandbox, "POST", callback, {"type": 8, "data": {"choices": []}}, auth=False)
    assert status == 400 and answer["code"] == 40043, answer  # autocomplete result for a command
    status, _ = await call(sandbox, "POST", callback, {"type": 5}, auth=False)
    assert status == 204
    status, answer = await call(sandbox, "POST", callback, {"type": 4, "data": {"content": "again"}}, auth=False)
    assert status == 400 and answer["code"] == 40060, answer


AUTOCOMPLETE_CASES = [
    ("26 choices", [{"name": f"c{i}", "value": f"{i}"} for i in range(26)], "data.choices", "BASE_TYPE_MAX_LENGTH"),
    ("choice name 101", [{"name": "x" * 101, "value": "v"}], "data.choices.0.name", "BASE_TYPE_BAD_LENGTH"),
    ("choice value 101", [{"name": "n", "value": "x" * 101}], "data.choices.0.value", "BASE_TYPE_BAD_LENGTH"),
]


@pytest.mark.parametrize("choices,path,code", [c[1:] for c in AUTOCOMPLETE_CASES],
                         ids=[c[0] for c in AUTOCOMPLETE_CASES])
async def test_autocomplete_refusals(sandbox, choices, path, code):
    callback, handle = await autocomplete_interaction(sandbox)
    status, answer = await call(sandbox, "POST", callback, {"type": 8, "data": {"choices": choices}}, auth=False)
    assert_refused(status, answer, path, code)
    status, _ = await call(sandbox, "POST", callback, {"type": 8, "data": {"choices": choices[:1] and [
        {"name": "ok", "value": "ok"}]}}, auth=False)
    assert status == 204
    assert [c["name"] for c in await handle.choices()] == ["ok"]


class TestTokenLifetime:
    @pytest.fixture
    def sandbox_config(self):
        return SandboxConfig(heartbeat_interval_ms=5000)

    async def test_follow_ups_end_with_the_token(self, sandbox, interaction, monkeypatch):
        callback, handle = interaction
        status, _ = await call(sandbox, "POST", callback, {"type": 5}, auth=False)
        assert status == 204
        record = handle.interaction
        webhook = f"/webhooks/{sandbox.application_id}/{record.token}"
        status, _ = await call(sandbox, "POST", webhook, {"content": "in time"}, auth=False)
        assert status in (200, 204)
        record.created -= 15 * 60 + 1  # the token is now older than Discord's 15 minutes
        status, answer = await call(sandbox, "POST", webhook, {"content": "too late"}, auth=False)
        assert status == 401 and answer["code"] == 50027, answer
