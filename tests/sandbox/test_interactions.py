"""Slash commands, autocomplete, buttons and modals through discord.py's app_commands and
ui modules, driven by scripted members."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord import app_commands
from sandbox_clients import connected

from bot.sandbox import CommandRefused, NoResponse, SandboxConfig

TOPICS = ["consent", "confidentiality", "professional boundaries", "advertising"]


class TreeClient(discord.Client):
    """A plain client with a command tree: slash commands as discord.py users write them."""

    def __init__(self, **options):
        super().__init__(**options)
        self.tree = app_commands.CommandTree(self)
        self.invocations: list[str] = []
        self.modal_values: list[dict[str, str]] = []
        self.build()

    def build(self) -> None:
        tree = self.tree

        @tree.command(description="Check the bot is alive")
        async def ping(interaction: discord.Interaction) -> None:
            self.invocations.append("ping")
            await interaction.response.send_message(f"pong {interaction.user.name}")

        @tree.command(description="Private help")
        async def help(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("only you can see this", ephemeral=True)

        @tree.command(description="Start a chat")
        @app_commands.default_permissions(manage_events=True)
        @app_commands.describe(questions="How many questions")
        async def start(interaction: discord.Interaction, title: str, questions: app_commands.Range[int, 1, 10]) -> None:
            self.invocations.append(f"start {title} {questions}")
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"Starting {title!r} with {questions} questions")
            await interaction.followup.send("Second follow-up", file=discord.File(io.BytesIO(b"plan"), "plan.txt"))

        @tree.command(description="Ask a guidance question")
        async def ask(interaction: discord.Interaction, topic: str, who: discord.Member | None = None) -> None:
            await interaction.response.send_message(f"Guidance on {topic} for {who.name if who else 'you'}")
            await interaction.edit_original_response(content=f"Guidance on {topic} (edited)")

        @ask.autocomplete("topic")
        async def topic_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=t.title(), value=t) for t in TOPICS if current.lower() in t][:25]

        @tree.command(description="Vote")
        async def vote(interaction: discord.Interaction) -> None:
            view = discord.ui.View(timeout=30)
            button = discord.ui.Button(label="Agree", custom_id="vote:agree")

            async def pressed(button_interaction: discord.Interaction) -> None:
                await button_interaction.response.edit_message(content=f"{button_interaction.user.name} agreed", view=None)

            button.callback = pressed
            view.add_item(button)
            await interaction.response.send_message("Do you agree?", view=view)

        client = self

        class Feedback(discord.ui.Modal, title="Chat feedback"):
            rating = discord.ui.TextInput(label="Rating", custom_id="rating", max_length=2)
            comment = discord.ui.TextInput(label="Comment", custom_id="comment", style=discord.TextStyle.long,
                                           required=False)

            async def on_submit(self, interaction: discord.Interaction) -> None:
                client.modal_values.append({"rating": self.rating.value, "comment": self.comment.value})
                await interaction.response.send_message("Thanks for the feedback", ephemeral=True)

        @tree.command(description="Give feedback")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        chat = app_commands.Group(name="chat", description="Tweetchat commands",
                                  default_permissions=discord.Permissions(manage_events=True))

        @chat.command(name="status", description="Show the chat status")
        @app_commands.choices(detail=[app_commands.Choice(name="Short", value="short"),
                                      app_commands.Choice(name="Long", value="long")])
        async def status(interaction: discord.Interaction, detail: app_commands.Choice[str]) -> None:
            self.invocations.append(f"chat status {detail.value}")
            await interaction.response.send_message(f"status ({detail.value})", ephemeral=True)

        tree.add_command(chat)

        @tree.command(description="Slow")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.5)
            try:
                await interaction.response.send_message("too late")
            except discord.NotFound as exc:
                self.late_error = exc


@pytest.fixture
async def bot(sandbox):
    async with connected(sandbox, factory=TreeClient) as client:
        client.tree.copy_global_to(guild=discord.Object(sandbox.guild_id))
        await client.tree.sync(guild=discord.Object(sandbox.guild_id))
        yield client


async def test_guild_bulk_overwrite_registers_commands(sandbox, bot):
    commands = sandbox.interactions.commands[sandbox.guild_id]
    by_name = {c["name"]: c for c in commands}
    assert set(by_name) == {"ping", "help", "start", "ask", "vote", "feedback", "slow", "chat"}
    assert by_name["start"]["default_member_permissions"] == str(1 << 33)
    assert by_name["ping"]["default_member_permissions"] is None
    fetched = await bot.tree.fetch_commands(guild=discord.Object(sandbox.guild_id))
    start = next(c for c in fetched if c.name == "start")
    assert start.default_member_permissions.manage_events
    assert [o.name for o in start.options] == ["title", "questions"]
    ids = {c["name"]: c["id"] for c in commands}
    await bot.tree.sync(guild=discord.Object(sandbox.guild_id))
    assert {c["name"]: c["id"] for c in sandbox.interactions.commands[sandbox.guild_id]} == ids  # ids are kept


async def test_global_bulk_overwrite(sandbox, bot):
    synced = await bot.tree.sync()
    assert {c.name for c in synced} == {c["name"] for c in sandbox.interactions.commands[None]}
    assert all("guild_id" not in c for c in sandbox.interactions.commands[None])


async def test_slash_command_reply(sandbox, bot):
    handle = await sandbox.member("pat").invoke("ping")
    message = await handle.message()
    assert message.content == "pong pat"
    assert message.interaction_metadata["name"] == "ping"
    assert not handle.is_ephemeral
    assert sandbox.history()[-1].id == message.id  # public: in channel history
    assert sandbox.member("sam").messages()[-1].id == message.id


async def test_ephemeral_reply_is_only_seen_by_the_invoker(sandbox, bot):
    pat, sam = sandbox.member("pat"), sandbox.member("sam")
    handle = await pat.invoke("help")
    message = await handle.message()
    assert handle.is_ephemeral and message.content == "only you can see this"
    assert message in pat.messages() and message in pat.ephemeral_messages()
    assert message not in sam.messages()
    assert sandbox.history() == []
    assert [m async for m in bot.get_channel(sandbox.channel_id).history()] == []


async def test_moderator_command_with_deferral_and_follow_ups(sandbox, bot):
    handle = await sandbox.moderator.invoke("start", title="Privacy", questions=5)
    assert await handle.response() == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    first = await handle.message()
    assert first.content == "Starting 'Privacy' with 5 questions"  # the first follow-up fills the deferral
    [second] = await handle.followups(1)
    assert second.content == "Second follow-up" and second.attachments[0].data == b"plan"
    assert bot.invocations == ["start Privacy 5"]


async def test_moderator_command_refused_for_a_plain_member(sandbox, bot):
    seen: list[discord.Interaction] = []
    bot.tree.interaction_check = lambda i: seen.append(i) or True  # would record any delivery
    with pytest.raises(CommandRefused):
        await sandbox.member("pat").invoke("start", title="Privacy", questions=5)
    assert not any(e == "INTERACTION_CREATE" for _, e, _ in next(iter(sandbox.gateway.sessions.values())).buffer)
    assert bot.invocations == []


async def test_option_validation_happens_before_delivery(sandbox, bot):
    with pytest.raises(CommandRefused):
        await sandbox.moderator.invoke("start", title="Privacy", questions=11)  # Range 1..10
    with pytest.raises(CommandRefused):
        await sandbox.moderator.invoke("start", questions=3)  # title is required
    with pytest.raises(CommandRefused):
        await sandbox.member("pat").invoke("nonexistent")


async def test_autocomplete_and_user_option(sandbox, bot):
    pat = sandbox.member("pat")
    choices = await pat.autocomplete("ask", "topic", "con")
    assert [c["value"] for c in choices] == ["consent", "confidentiality"]
    handle = await pat.invoke("ask", topic="consent", who=sandbox.member("sam").id)
    first = await handle.message()
    assert first.content in ("Guidance on consent for sam", "Guidance on consent (edited)")
    message = await handle.message(check=lambda m: m.edited_at is not None)
    assert message.content == "Guidance on consent (edited)"  # edit_original_response
    assert message.edited_at is not None


async def test_button_press_updates_the_message(sandbox, bot):
    pat = sandbox.member("pat")
    handle = await pat.invoke("vote")
    message = await handle.message()
    assert message.components[0]["components"][0]["custom_id"] == "vote:agree"
    press = await sandbox.member("sam").press(message, "vote:agree")
    assert await press.response() == 7  # UPDATE_MESSAGE
    assert sandbox.world.messages[message.id].content == "sam agreed"
    assert sandbox.world.messages[message.id].components == []


async def test_modal_submit(sandbox, bot):
    pat = sandbox.member("pat")
    opened = await pat.invoke("feedback")
    modal = await opened.modal()
    assert modal["title"] == "Chat feedback"
    submitted = await pat.submit_modal(opened, {"rating": "9", "comment": "Great chat"})
    reply = await submitted.message()
    assert reply.content == "Thanks for the feedback" and reply.ephemeral
    assert bot.modal_values == [{"rating": "9", "comment": "Great chat"}]


class TestResponseDeadline:
    @pytest.fixture
    def sandbox_config(self):
        return SandboxConfig(interaction_deadline=0.2)

    async def test_late_initial_response_is_unknown_interaction(self, sandbox, bot):
        handle = await sandbox.member("pat").invoke("slow")
        with pytest.raises(NoResponse):
            await handle.response(timeout=1.0)
        for _ in range(50):
            if hasattr(bot, "late_error"):
                break
            await asyncio.sleep(0.02)
        assert bot.late_error.code == 10062


async def test_subcommand_with_choices(sandbox, bot):
    handle = await sandbox.moderator.invoke("chat status", detail="long")
    reply = await handle.message()
    assert reply.content == "status (long)" and reply.ephemeral
    assert bot.invocations == ["chat status long"]
    with pytest.raises(CommandRefused):
        await sandbox.moderator.invoke("chat status", detail="medium")  # not one of the choices
    with pytest.raises(CommandRefused):
        await sandbox.member("sam").invoke("chat status", detail="short")  # group needs Manage Events
