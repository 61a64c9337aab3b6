"""How the bot reads the gateway: every few events the loop gets a turn, and each message
goes to the bot's readers in the gateway's own call, one failing reader sparing the rest."""

from __future__ import annotations

import asyncio
import logging

from bot.app import GatewayTurns, TweetchatBot
from bot.config import Secret, Settings


class BufferedSocket:
    """A socket with many events already received: receive() never waits (as aiohttp's
    does not while its buffer holds frames)."""

    closed = False

    def __init__(self) -> None:
        self.received = 0

    async def receive(self, timeout=None):
        self.received += 1
        return self.received


async def test_the_gateway_gives_the_loop_a_turn_every_few_events():
    socket = GatewayTurns(BufferedSocket())
    turns = 0

    async def other_work():
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    for _ in range(GatewayTurns.EVENTS_PER_TURN * 10):
        await socket.receive()
    other.cancel()
    assert turns >= 10  # without the turns: 0 (the reading loop never waits)
    assert socket.closed is False and socket.received == GatewayTurns.EVENTS_PER_TURN * 10


async def test_a_failing_message_reader_is_logged_and_the_others_still_read(tmp_path, caplog):
    bot = TweetchatBot(Settings(token=Secret("x"), database=tmp_path / "t.db"))
    read = []

    def broken(message):
        raise RuntimeError("a bug in one reader")

    bot.message_readers.extend([broken, read.append])
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        bot.dispatch("message", "a message")
        bot.dispatch("typing", "not a message")
    assert read == ["a message"]
    assert "reading message" in caplog.text and "a bug in one reader" in caplog.text
