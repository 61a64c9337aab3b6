"""``tweetchat sandbox``: run a sandbox until Ctrl-C and print how to connect to it."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from typing import TYPE_CHECKING

from bot.argtypes import number

if TYPE_CHECKING:
    from .server import Sandbox


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the ``sandbox`` subcommand to a command line's subparsers."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Discord-compatible API sandbox",
        description="Run a local, in-memory server that speaks Discord's API v10 on loopback.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=number(int, 0, 65535, "0"), default=0,
                        help="port on 127.0.0.1, 0-65535 (default 0: a free one)")
    parser.add_argument("--heartbeat-ms", type=number(int, 100, 600_000, "41250"), default=41250,
                        help="gateway heartbeat interval in ms, 100-600000 (default 41250, as Discord)")
    parser.add_argument("--guild-name", default="Physiotalk")
    parser.add_argument("--channel-name", default="tweetchat")
    parser.add_argument("--json", action="store_true", help="print the connection details as one JSON line")


def describe(sandbox: Sandbox) -> dict[str, object]:
    """The details a bot needs to connect, and the ids of the default world."""
    return {
        "api_base": sandbox.api_base,
        "gateway_url": sandbox.gateway_url,
        "bot_token": sandbox.bot_token,
        "application_id": str(sandbox.application_id),
        "guild_id": str(sandbox.guild_id),
        "channel_id": str(sandbox.channel_id),
        "general_channel_id": str(sandbox.general_channel_id),
        "members": {name: str(m.id) for name, m in sandbox.members.items()},
    }


async def serve(args: argparse.Namespace) -> None:
    from .server import Sandbox, SandboxConfig

    config = SandboxConfig(
        port=args.port, heartbeat_interval_ms=args.heartbeat_ms,
        guild_name=args.guild_name, channel_name=args.channel_name,
    )
    async with Sandbox(config) as sandbox:
        details = describe(sandbox)
        if args.json:
            print(json.dumps(details), flush=True)
        else:
            print("Discord sandbox ready", flush=True)
            for key, value in details.items():
                print(f"  {key:20} {value}")
            print("\nTo run the bot against it, in another terminal from the checkout:\n"
                  f"  DISCORD_TOKEN={details['bot_token']} \\\n"
                  f"  DISCORD_API_BASE_URL={details['api_base']} \\\n"
                  f"  DISCORD_GATEWAY_URL={details['gateway_url']} \\\n"
                  f"  TWEETCHAT_DEV_GUILD={details['guild_id']} \\\n"
                  "  .venv/bin/tweetchat run\n"
                  "(or put those four lines in .env). Ctrl-C stops the sandbox.", flush=True)
        import asyncio  # here, not at the top: building tweetchat's parser imports this module

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    """Run the sandbox until interrupted; returns the process exit status."""
    import asyncio

    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sandbox: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description="Run a local Discord API sandbox.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
