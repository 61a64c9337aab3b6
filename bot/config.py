"""Settings from the environment and `.env`, validated once at start.

This is the only module that reads the environment. Everything else receives a
:class:`Settings` object. The Discord token is wrapped in :class:`Secret` so that it
never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from dotenv import dotenv_values

from bot.chat.zones import UnknownTimeZone, resolve_zone

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_DATABASE = "tweetchat.db"
# The checkout's data/ (chat files, the guidance knowledge file). An installed copy of the
# package (the Docker image) has none beside it and sets TWEETCHAT_DATA_DIR instead.
def _bundled_data() -> Path:
    """The data folder: the checkout's data/ (editable installs, the tests), else the copy
    installed inside the package (bot/data in the wheel)."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "data"
    return checkout if (checkout / "guidance.toml").exists() else here / "data"


DEFAULT_DATA_DIR = _bundled_data()
DEFAULT_TIMEZONE = "Europe/London"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every setting the bot reads, with what it means. `.env.example` mirrors this table.
SETTINGS_HELP = {
    "DISCORD_TOKEN": "The bot token from the Discord developer portal (Bot > Reset Token). "
    "Needed only by `tweetchat run`.",
    "TWEETCHAT_DATABASE": f"Path of the SQLite database (default: ./{DEFAULT_DATABASE}).",
    "DISCORD_API_BASE_URL": f"Discord REST base URL (default: {DEFAULT_API_BASE_URL}); "
    "point it at the local sandbox for testing.",
    "DISCORD_GATEWAY_URL": f"Discord gateway URL (default: {DEFAULT_GATEWAY_URL}).",
    "TWEETCHAT_TIMEZONE": f"Default IANA time zone for new servers (default: {DEFAULT_TIMEZONE}).",
    "TWEETCHAT_LOG_LEVEL": "One of DEBUG, INFO, WARNING, ERROR, CRITICAL (default: INFO).",
    "TWEETCHAT_DATA_DIR": "Folder with chats/ and guidance.toml (default: the checkout's data/).",
    "TWEETCHAT_DEV_GUILD": "Optional server id: sync slash commands to this one server only "
    "(instant, for development) instead of globally.",
    "TWEETCHAT_SHARDS": "Only for several bot processes on one database: this process's shards "
    "and how many there are, e.g. 0,1/4 (shards 0 and 1 of 4). Default: one process, every server.",
}

# A Discord bot token is three dot-separated URL-safe base64 parts.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{20,}$")


class Secret:
    """A string that refuses to show itself in reprs, str() and f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself; call only where it is handed to Discord."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(Exception):
    """Settings are invalid. The message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    """The validated settings of one bot process."""

    token: Secret = field(default_factory=lambda: Secret(""))
    database: Path = Path(DEFAULT_DATABASE)
    api_base_url: str = DEFAULT_API_BASE_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    default_timezone: str = DEFAULT_TIMEZONE
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    clock_speed: float = 1.0  # rehearsals and trials only
    clock_origin: datetime | None = None
    # (this process's shard ids, the shard count), or None: one process for every server.
    shards: tuple[tuple[int, ...], int] | None = None

    @property
    def guidance_file(self) -> Path:
        return self.data_dir / "guidance.toml"

    @property
    def chats_dir(self) -> Path:
        return self.data_dir / "chats"

    def require_token(self) -> str:
        """The token for logging in; raises ConfigError (without the token) when unset."""
        if not self.token:
            raise ConfigError(
                [
                    "DISCORD_TOKEN is not set. Put the bot token from the Discord developer "
                    "portal in .env or the environment, or run `tweetchat demo` to try the bot "
                    "on the local sandbox without one."
                ]
            )
        return self.token.reveal()


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
) -> Settings:
    """Read settings from `.env` (if present) overlaid by the environment, and validate them.

    :param environ: the environment to read (default: ``os.environ``); real environment
        variables win over `.env`, as python-dotenv does by default.
    :param dotenv_path: the `.env` file to read, or None to skip it.
    :raises ConfigError: listing every invalid setting at once.
    """
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    problems: list[str] = []

    token = values.get("DISCORD_TOKEN", "").strip()
    if token and not _TOKEN_SHAPE.match(token):
        # Never echo the value: a half-pasted token is still a secret.
        problems.append(
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts). "
            "Copy it again from the developer portal (Bot > Reset Token)."
        )

    database = Path(values.get("TWEETCHAT_DATABASE", "").strip() or DEFAULT_DATABASE)
    if database.is_dir():
        problems.append(f"TWEETCHAT_DATABASE={database} is a directory; give a file path.")
    elif not database.parent.exists() and str(database) != ":memory:":
        problems.append(
            f"TWEETCHAT_DATABASE={database}: the folder {database.parent} does not exist."
        )
    elif str(database) != ":memory:" and not os.access(database.parent, os.W_OK) and not (
            database.exists() and os.access(database, os.W_OK)):
        problems.append(
            f"TWEETCHAT_DATABASE={database}: this user cannot write in {database.parent.resolve()}. "
            "Point it at a writable folder (in the Docker image, the volume: /data/tweetchat.db)."
        )

    api = values.get("DISCORD_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
    if urlparse(api).scheme not in ("http", "https") or not urlparse(api).netloc:
        problems.append(
            f"DISCORD_API_BASE_URL={api!r} is not an http(s) URL, "
            f"e.g. {DEFAULT_API_BASE_URL}"
        )
    gateway = values.get("DISCORD_GATEWAY_URL", "").strip() or DEFAULT_GATEWAY_URL
    if urlparse(gateway).scheme not in ("ws", "wss") or not urlparse(gateway).netloc:
        problems.append(
            f"DISCORD_GATEWAY_URL={gateway!r} is not a ws(s) URL, e.g. {DEFAULT_GATEWAY_URL}"
        )

    tz = values.get("TWEETCHAT_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    try:
        tz = resolve_zone(tz).key
    except UnknownTimeZone as exc:
        problems.append(f"TWEETCHAT_TIMEZONE: {exc}")

    level = (values.get("TWEETCHAT_LOG_LEVEL", "").strip() or "INFO").upper()
    if level not in LOG_LEVELS:
        problems.append(f"TWEETCHAT_LOG_LEVEL={level!r} must be one of {', '.join(LOG_LEVELS)}.")

    data_dir = Path(values.get("TWEETCHAT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
    if not (data_dir / "guidance.toml").is_file():
        problems.append(f"TWEETCHAT_DATA_DIR={data_dir}: no guidance.toml there; point it at "
                        "the project's data/ folder (it holds chats/ and guidance.toml).")

    dev_guild: int | None = None
    raw_guild = values.get("TWEETCHAT_DEV_GUILD", "").strip()
    if raw_guild:
        if raw_guild.isdigit():
            dev_guild = int(raw_guild)
        else:
            problems.append(
                f"TWEETCHAT_DEV_GUILD={raw_guild!r} must be a server id (digits only); "
                "copy it with Developer Mode on: right-click the server > Copy Server ID."
            )

    speed = 1.0
    raw_speed = values.get("TWEETCHAT_CLOCK_SPEED", "").strip()
    if raw_speed:
        try:
            speed = float(raw_speed)
        except ValueError:
            speed = 0
        if not 1 <= speed <= 1000:
            problems.append(f"TWEETCHAT_CLOCK_SPEED={raw_speed!r} must be a number from 1 to "
                            "1000 (leave it unset for a real server)")
    origin = None
    raw_origin = values.get("TWEETCHAT_CLOCK_ORIGIN", "").strip()
    if raw_origin:
        try:
            origin = datetime.fromisoformat(raw_origin.replace("Z", "+00:00"))
            if origin.tzinfo is None:
                raise ValueError
        except ValueError:
            problems.append(f"TWEETCHAT_CLOCK_ORIGIN={raw_origin!r} must be an ISO instant with "
                            "its offset, e.g. 2026-12-01T20:00:00+00:00")

    shards = None
    raw_shards = values.get("TWEETCHAT_SHARDS", "").strip()
    if raw_shards:
        shards = _shards(raw_shards)
        if shards is None:
            problems.append(f"TWEETCHAT_SHARDS={raw_shards!r} must be this process's shard ids and "
                            "the shard count, e.g. 0/2 or 0,1/4 (each id below the count)")

    if problems:
        raise ConfigError(problems)
    return Settings(
        token=Secret(token),
        database=database,
        api_base_url=api.rstrip("/"),
        gateway_url=gateway,
        default_timezone=tz,
        log_level=level,
        dev_guild_id=dev_guild,
        data_dir=data_dir,
        clock_speed=speed,
        clock_origin=origin,
        shards=shards,
    )


def _shards(text: str) -> tuple[tuple[int, ...], int] | None:
    """ "0,1/4" -> ((0, 1), 4); None when it is not that shape."""
    ids, _, count = text.replace(" ", "").partition("/")
    if not count.isdigit() or not ids or not all(i.isdigit() for i in ids.split(",")):
        return None
    found = tuple(sorted({int(i) for i in ids.split(",")}))
    return (found, int(count)) if 0 < int(count) <= 4096 and found[-1] < int(count) else None


INTERACTION_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_.\-]{20,}")


class RedactingFilter(logging.Filter):
    """Replaces any occurrence of the given secrets, and any interaction token in a
    webhook or callback URL, in log records with asterisks.

    Belt and braces: the token is never formatted on purpose, but a library could
    log a header or URL that carries it.
    """

    def __init__(self, *secrets: Secret) -> None:
        super().__init__()
        self._secrets = [s.reveal() for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "********")
        # Interaction tokens ride in webhook and callback URLs (discord.py logs them at
        # DEBUG); each lets anyone answer as the bot for 15 minutes.
        redacted = INTERACTION_TOKEN.sub(r"\1********", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(settings: Settings) -> None:
    """Set up the root logger at the configured level, redacting the token everywhere."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(settings.token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
