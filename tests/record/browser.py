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
import re
import subprocess
from pathlib import Path

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


@contextlib.asynccontextmanager
async def open_page(browser: str, page: Path, profile: Path, *, width: int, height: int):
    """The page loaded at `width` x `height`; yields a function `call(method, **params)`."""
    process = await asyncio.create_subprocess_exec(
        browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
        "--remote-debugging-port=0", "about:blank",
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
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json(content_type=None)
            target = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                ids = itertools.count(1)

                async def call(method: str, **params):
                    number = next(ids)
                    await ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
                    while True:
                        message = json.loads((await asyncio.wait_for(ws.receive(), 30)).data)
                        if message.get("id") == number:
                            if "error" in message:
                                raise RuntimeError(f"{method}: {message['error']}")
                            return message["result"]

                await call("Page.enable")
                await call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                           deviceScaleFactor=1, mobile=width < 600)
                await call("Page.navigate", url=page.as_uri())
                for _ in range(100):  # until the document has loaded
                    ready = await call("Runtime.evaluate", expression="document.readyState",
                                       returnByValue=True)
                    if ready["result"]["value"] == "complete":
                        break
                    await asyncio.sleep(0.05)
                yield call
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def evaluate(call, expression: str):
    result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
    return result["result"].get("value")


async def screenshot(call, path: Path) -> Path:
    shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
