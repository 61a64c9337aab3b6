"""Rate limits as "Topics > Rate Limits" describes them.

Per-route buckets keyed by the route and its top-level resource (channel, guild, or
webhook id + token), reported through ``X-RateLimit-*`` headers; a global per-bot limit;
and a hidden per-guild limit on thread creation that answers 429 while the route's own
bucket still has requests left (Discord's "sub-rate limit"). Limits are configurable so
tests can hit them in about a second instead of minutes.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Rule:
    """``limit`` requests per ``per`` seconds."""

    limit: int
    per: float


@dataclass
class RateLimits:
    """The limits a sandbox enforces.

    Discord does not publish its per-route numbers (clients must read the headers); the
    defaults here are generous so ordinary tests never wait, and :meth:`discord_like`
    gives the values commonly observed on Discord.
    """

    default: Rule = Rule(50, 1.0)
    routes: dict[str, Rule] = field(default_factory=dict)
    # Discord's documented global limit: 50 requests per second per bot.
    global_per_second: int | None = 50
    # Thread creation across a whole guild (new threads, not messages in them).
    threads_per_guild: Rule | None = None
    enabled: bool = True

    @classmethod
    def discord_like(cls) -> "RateLimits":
        """Commonly observed Discord limits (message create 5/5 s per channel, etc.)."""
        return cls(
            default=Rule(50, 1.0),
            routes={
                "POST /channels/{channel_id}/messages": Rule(5, 5.0),
                "PATCH /channels/{channel_id}/messages/{message_id}": Rule(5, 5.0),
                "DELETE /channels/{channel_id}/messages/{message_id}": Rule(5, 1.0),
                "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": Rule(1, 0.25),
                "POST /channels/{channel_id}/threads": Rule(10, 10.0),
                "POST /channels/{channel_id}/messages/{message_id}/threads": Rule(10, 10.0),
                "PUT /applications/{application_id}/guilds/{guild_id}/commands": Rule(2, 60.0),
            },
            threads_per_guild=Rule(50, 300.0),
        )

    @classmethod
    def off(cls) -> "RateLimits":
        """No limits at all (benchmarks measure the sandbox, not the limiter)."""
        return cls(enabled=False, global_per_second=None)

    def rule_for(self, route: str) -> Rule:
        return self.routes.get(route, self.default)


@dataclass
class _Window:
    rule: Rule
    started: float
    used: int = 0

    def reset_at(self) -> float:
        return self.started + self.rule.per


@dataclass
class Verdict:
    """What the limiter decided: headers to send, and a 429 body if the request is refused."""

    headers: dict[str, str]
    refusal: dict[str, object] | None = None


class RateLimiter:
    """Fixed-window buckets; the clock is injectable so unit tests need not sleep."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global: _Window | None = None
        self.refusals: list[tuple[str, str]] = []  # (route, scope) of every 429, for tests.

    @staticmethod
    def bucket_hash(route: str) -> str:
        """An opaque, stable bucket id for a route, like the ones Discord sends."""
        return hashlib.sha1(route.encode()).hexdigest()[:32]

    def _window(self, key: tuple[str, str], rule: Rule, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.reset_at() or window.rule != rule:
            window = _Window(rule, now)
            self._windows[key] = window
        return window

    def check(self, route: str, major: str, *, guild_id: int | None = None, creates_thread: bool = False,
              counts_globally: bool = True) -> Verdict:
        """Count one request to ``route`` on resource ``major`` and decide whether it passes."""
        if not self.limits.enabled:
            return Verdict({})
        now = self.clock()
        wall = time.time()
        if counts_globally and self.limits.global_per_second is not None:
            window = self._global
            if window is None or now >= window.reset_at():
                window = self._global = _Window(Rule(self.limits.global_per_second, 1.0), now)
            if window.used >= window.rule.limit:
                retry = window.reset_at() - now
                self.refusals.append((route, "global"))
                return Verdict(
                    {
                        "X-RateLimit-Global": "true",
                        "X-RateLimit-Scope": "global",
                        "Retry-After": str(math.ceil(retry)),
                    },
                    {"message": "You are being rate limited.", "retry_after": round(retry, 3), "global": True},
                )
            window.used += 1

        rule = self.limits.rule_for(route)
        window = self._window((route, major), rule, now)
        bucket = self.bucket_hash(route)

        def headers(remaining: int) -> dict[str, str]:
            reset_after = max(window.reset_at() - now, 0.0)
            return {
                "X-RateLimit-Limit": str(rule.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{wall + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": bucket,
            }

        if window.used >= rule.limit:
            retry = window.reset_at() - now
            self.refusals.append((route, "user"))
            return Verdict(
                {**headers(0), "X-RateLimit-Scope": "user", "Retry-After": str(math.ceil(retry))},
                {"message": "You are being rate limited.", "retry_after": round(retry, 3), "global": False},
            )

        if creates_thread and guild_id is not None and self.limits.threads_per_guild is not None:
            guild_window = self._window(("threads", str(guild_id)), self.limits.threads_per_guild, now)
            if guild_window.used >= guild_window.rule.limit:
                retry = guild_window.reset_at() - now
                self.refusals.append((route, "shared"))
                # The route bucket is not spent: the client sees remaining > 0 and a 429,
                # which is how Discord's hidden sub-limits look from outside.
                return Verdict(
                    {**headers(rule.limit - window.used), "X-RateLimit-Scope": "shared",
                     "Retry-After": str(math.ceil(retry))},
                    {"message": "You are being rate limited.", "retry_after": round(retry, 3), "global": False},
                )
            guild_window.used += 1

        window.used += 1
        return Verdict(headers(rule.limit - window.used))
