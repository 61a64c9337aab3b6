"""The contract check itself: it notices what the spec does not allow, over discord.py's own
HTTP code, and the sandbox's payloads have the shapes Discord's spec gives them."""

from __future__ import annotations

import time

import discord
import pytest

from bot.sandbox.contract import Contract, default_contract

SEND = "POST /channels/{channel_id}/messages"


async def test_an_unknown_field_sent_by_discord_py_is_noticed(sandbox, client, discord_contract):
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=sandbox.channel_id)
    await client.http.request(route, json={"content": "hello", "colour_of_the_day": "teal"})
    noticed = [v for v in discord_contract if v.rule == "unknown field"]
    assert [(v.route, v.path) for v in noticed] == [(SEND, "colour_of_the_day")]
    discord_contract.clear()  # seen: this test is about noticing it


@pytest.mark.refusals_expected
async def test_a_refusal_reaches_discord_py_as_its_http_exception(sandbox, client, discord_contract):
    channel = client.get_channel(sandbox.channel_id)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=discord.Embed(title="x" * 257))
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "embeds.0.title" in caught.value.text  # discord.py flattens the errors tree so
    assert [v.path for v in discord_contract if v.rule != "unknown field"] == ["embeds.0.title"]


def test_every_route_the_sandbox_serves_is_in_the_spec():
    from bot.sandbox.rest import _ROUTES

    contract = default_contract()
    missing = [f"{m} {p}" for m, p, _ in _ROUTES if not contract.knows(f"{m} {p}")]
    assert missing == []


def test_validation_is_cheap_enough_for_every_request():
    """Not a timing assertion on the machine: a ratio against parsing the same body."""
    import json

    contract = Contract()
    body = {"content": "x" * 500, "embeds": [{"title": "t", "description": "d" * 2000,
                                              "fields": [{"name": "n", "value": "v"}] * 10}],
            "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "OK", "custom_id": "c"}]}]}
    contract.refusals(SEND, body)  # compile the validators once
    text = json.dumps(body)
    start = time.perf_counter()
    for _ in range(50):
        json.loads(text)
    parse = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(50):
        assert contract.refusals(SEND, body) == []
    check = time.perf_counter() - start
    assert check < parse * 2000  # a generous bound: it only guards against a pathological regression


# --- shapes --------------------------------------------------------------------------------


def spec_problems(schema_name: str, payload: dict) -> list[str]:
    return sorted(f"{v.path}: {v.code} {v.message}" for v in default_contract().schema_problems(schema_name, payload))


async def test_ready_user_and_guild_create_have_discords_fields(sandbox, client):
    world = sandbox.world
    guild = world.guild_payload(sandbox.guild_id, all_members=True)
    assert spec_problems("GuildResponse", guild) == []
    for channel in guild["channels"]:
        assert spec_problems("GuildChannelResponse", channel) == [] or channel["type"] == 2
    me = await client.http.request(discord.http.Route("GET", "/users/@me"))
    assert spec_problems("UserPIIResponse", me) == []
    assert client.user.id == sandbox.bot_user_id
    assert "locale" in sandbox.gateway.ready_payloads[-1]["user"]


async def test_messages_come_back_as_discord_shapes_them(sandbox, client):
    channel = client.get_channel(sandbox.channel_id)
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="One", custom_id="one"))
    view.add_item(discord.ui.Button(label="Two", custom_id="two"))
    sent = await channel.send(embed=discord.Embed(title="Q1", description="d").add_field(name="n", value="v"),
                              view=view)
    raw = await client.http.get_message(sandbox.channel_id, sent.id)
    assert raw["embeds"][0]["type"] == "rich"
    assert raw["embeds"][0]["fields"][0]["inline"] is True  # discord.py's default, kept
    row = raw["components"][0]
    assert [row["id"]] + [c["id"] for c in row["components"]] == [1, 2, 3]
    assert spec_problems("MessageResponse", raw) == []


async def test_a_thread_is_created_with_201(sandbox, client):
    channel = client.get_channel(sandbox.channel_id)
    message = await channel.send("Q1")
    thread = await message.create_thread(name="Q1 answers")
    assert thread.id == message.id
    assert "POST /channels/{channel_id}/messages/{message_id}/threads" in sandbox.rest.requests


class TestHeartbeat:
    @pytest.fixture
    def sandbox_config(self):
        from bot.sandbox import SandboxConfig

        return SandboxConfig(heartbeat_interval_ms=100)

    async def test_acks_take_a_network_round_trip(self, sandbox, client):
        """discord.py measures the heartbeat-to-ACK time as its latency: a round trip, as
        from Discord, not the same millisecond."""
        await sandbox.gateway.wait_for("heartbeat", count=3, timeout=5)
        await __import__("asyncio").sleep(0.1)
        assert 0.015 <= client.latency < 1.0
