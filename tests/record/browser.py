"""A page in headless Chromium, driven over the Chrome DevTools protocol (aiohttp's
websocket client; no driver to install): load a file at a window size, evaluate an
expression in it (the protocol's evaluation is not subject to the page's own
Content-Security-Policy, so a page that forbids scripts can still be measured), and take
a screenshot."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp

def chromium(candidates=("/usr/bin/chromium",)) -> str:
    """Debian's chromium; skip without it, unless CI says it must be there."""
    import pytest

    found = shutil.which("chromium") or next((c for c in candidates if Path(c).exists()), None)
    if found:
        return found
    if os.environ.get("TWEETCHAT_REQUIRE_BROWSER") == "1":
        pytest.fail("TWEETCHAT_REQUIRE_BROWSER=1 but chromium is not installed "
                    "(apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); the browser checks "
                "(HTML transcript, rehearsal room) need it")


FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


class Page:
    """One tab, driven over its own DevTools websocket: ``await page.call(method, **params)``."""

    def __init__(self, ws) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def call(self, method: str, **params):
        async with self._lock:
            number = next(self._ids)
            await self._ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
            while True:  # events of the page may come first: skipped
                message = json.loads((await asyncio.wait_for(self._ws.receive(), 30)).data)
                if message.get("id") == number:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message["result"]

    async def size(self, width: int, height: int) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=width < 600)

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        for _ in range(200):  # until the document has loaded
            ready = await self.call("Runtime.evaluate", expression="document.readyState", returnByValue=True)
            if ready["result"]["value"] == "complete":
                return
            await asyncio.sleep(0.05)


class Browser:
    """A headless Chromium; ``await browser.page(url, width, height)`` opens a tab."""

    def __init__(self, http: aiohttp.ClientSession, port: str) -> None:
        self._http = http
        self._port = port
        self._sockets: list = []

    async def page(self, url: str, *, width: int, height: int) -> Page:
        async with self._http.put(f"http://127.0.0.1:{self._port}/json/new?about:blank") as response:
            target = await response.json(content_type=None)
        ws = await self._http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        self._sockets.append(ws)
        page = Page(ws)
        await page.call("Page.enable")
        await page.size(width, height)
        await page.goto(url)
        return page

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()


@contextlib.asynccontextmanager
async def open_browser(browser: str, profile: Path):
    """A headless Chromium with its DevTools endpoint; yields a :class:`Browser`."""
    process = await asyncio.create_subprocess_exec(
        browser, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        endpoint = None
        while endpoint is None:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            if not line:
                raise RuntimeError("chromium exited before its DevTools endpoint was ready")
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            endpoint = found and found.group(1).decode()
        port = re.search(r":(\d+)/", endpoint).group(1)
        async with aiohttp.ClientSession() as http:
            opened = Browser(http, port)
            try:
                yield opened
            finally:
                await opened.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def open_page(browser: str, page: Path, profile: Path, *, width: int, height: int):
    """The page loaded at `width` x `height`; yields a function `call(method, **params)`."""
    async with open_browser(browser, profile) as chromium:
        tab = await chromium.page(page.as_uri(), width=width, height=height)
        yield tab.call


async def evaluate(call, expression: str):
    result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
    return result["result"].get("value")


async def screenshot(call, path: Path) -> Path:
    shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
