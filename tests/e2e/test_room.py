"""The rehearsal room as hosts use it: `tweetchat room` started from the shell, its page
opened in headless Chromium, three tabs as three people, everything done through the page
(typing, the slash-command form, autocomplete, buttons, editing), never through the API
underneath. Screenshots of the channel and a thread at desktop and phone width are left in
the test's temporary folder as artefacts."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import pytest

from record.browser import chromium, open_browser
from seed import ROOT

PAT_ANSWER = "A1 Pat here: the same values online, just more permanent."
PAT_EDITED = "A1 Pat here: the same values online, just more permanent (and more public)."
SAM_ANSWER = "A1 Sam: I pause longer before I post than before I speak."
QUESTION = "can I accept a friend request from a patient on facebook"


class Tab:
    """One person's tab: JavaScript evaluated in the page, and waits on what it shows."""

    def __init__(self, page, name: str) -> None:
        self.page, self.name = page, name

    async def js(self, expression: str):
        result = await self.page.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                      awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{self.name}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 20.0, what: str = ""):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                text = await self.js("document.body.innerText.slice(-1500)")
                raise AssertionError(f"{self.name}: no {what or expression} within {timeout}s; the page shows:\n{text}")
            await asyncio.sleep(0.1)

    async def type(self, selector: str, text: str) -> None:
        """Type into a field as a person does: the value, then the input event."""
        await self.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            el.focus(); el.value = {json.dumps(text)}; el.dispatchEvent(new Event('input', {{bubbles: true}})); }})()""")

    async def click(self, selector: str) -> None:
        await self.until(f"!!document.querySelector({json.dumps(selector)})", what=selector)
        await self.js(f"document.querySelector({json.dumps(selector)}).click()")

    async def command(self, path: str, pane: str = "channel") -> None:
        """Type "/path" in the composer and pick it from the command list."""
        await self.type(f"[data-composer={pane}] textarea", "/" + path)
        await self.click(f'.palette .cmd[data-command="{path}"]')
        await self.until("!document.querySelector('.command-form').hidden", what="the command's form")

    async def pick(self, option: str, typed: str, pane: str = "channel") -> str:
        """Type into an autocompleted option and take the bot's first suggestion."""
        field = f"[data-composer={pane}] [data-option={option}]"
        await self.type(field, typed)
        value = await self.until(f"""(() => {{ const el = document.querySelector({json.dumps(field)});
            const list = document.getElementById(el.getAttribute('list'));
            return list && list.options.length ? list.options[0].value : null; }})()""",
                                 what=f"suggestions for {option}")
        await self.js(f"document.querySelector({json.dumps(field)}).value = {json.dumps(value)}")
        return value

    async def text(self, selector: str = "body") -> str:
        return await self.js(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText")

    async def shot(self, path: Path) -> Path:
        shot = await self.page.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture
def room(tmp_path):
    """`tweetchat room` as a host starts it, the bot's clock at x60; yields its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DISCORD_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot", "room", "--speed", "60", "--db",
                                str(tmp_path / "room.db")], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops the room" in line:
                break
        else:
            pytest.fail("tweetchat room stopped before printing its address:\n" + "".join(lines))
        printed = "".join(lines)
        found = re.search(r"Rehearsal room: (http://127\.0\.0\.1:\d+/room/)", printed)
        assert found, printed
        # Whatever it prints later (warnings) is kept, so that its pipe never fills.
        threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
        yield found.group(1), printed
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_hosts_rehearse_the_seed_chat_in_the_browser(room, tmp_path):
    url, printed = room
    assert "127.0.0.1 only" in printed
    browser = chromium()
    async with open_browser(browser, tmp_path / "profile") as chromium_:
        maya = Tab(await chromium_.page(url + "#as=maya", width=1280, height=800), "maya")
        pat = Tab(await chromium_.page(url + "#as=pat", width=1280, height=800), "pat")
        sam = Tab(await chromium_.page(url + "#as=sam", width=390, height=844), "sam")
        for tab in (maya, pat, sam):
            await tab.until("document.body.dataset.ready === '1'", what="the room")
        assert "Maya (moderator)" in await maya.text("#person option:checked")

        # Maya schedules the seed chat through /tweetchat schedule, "in 10 minutes" of the
        # bot's clock (10 s at x60: time enough to read the preview and confirm).
        await maya.command("tweetchat schedule")
        chosen = await maya.pick("chat", "50 shades")
        assert chosen == "physiotalk-2016-10-17-professionalism"
        await maya.type("[data-option=when]", "in 10 minutes")
        await maya.type("[data-option=timezone]", "Europe/London")
        await maya.click("[data-action=run]")
        await maya.until("!!document.querySelector('[data-custom-id=\"tweetchat:confirm\"]')", what="the preview")
        preview = await maya.text("#channel .messages")
        assert "Nothing is scheduled until you press Confirm" in preview and "Only you can see this" in preview
        await asyncio.sleep(0.3)
        assert "Nothing is scheduled" not in await pat.text("#channel .messages")  # only maya sees it
        await maya.click('[data-custom-id="tweetchat:confirm"]')
        await maya.until("document.querySelector('#channel .messages').innerText.includes('Scheduled 50 shades')",
                         what="the confirmation")

        # The chat runs on its own timer; Q1 opens its thread. Pat and Sam answer there.
        q1 = '[data-open-thread]'
        for tab in (pat, sam):
            await tab.until(f"""[...document.querySelectorAll('{q1}')].some(c => c.innerText.includes('Q1'))""",
                            timeout=60, what="Q1's thread")
            await tab.js(f"""[...document.querySelectorAll('{q1}')].find(c => c.innerText.includes('Q1')).click()""")
            await tab.until("!document.getElementById('thread').hidden", what="the thread pane")
        await pat.type("[data-composer=thread] textarea", PAT_ANSWER)
        await pat.click("[data-composer=thread] [data-action=send]")
        await sam.type("[data-composer=thread] textarea", SAM_ANSWER)
        await sam.click("[data-composer=thread] [data-action=send]")
        for tab in (pat, sam, maya):
            if tab is maya:
                await maya.js(f"""[...document.querySelectorAll('{q1}')].find(c => c.innerText.includes('Q1')).click()""")
            await tab.until(f"document.getElementById('thread').innerText.includes({json.dumps(SAM_ANSWER)})"
                            f" && document.getElementById('thread').innerText.includes({json.dumps(PAT_ANSWER)})",
                            what="both answers")

        # Pat edits his answer; the others see the edit live.
        mine = "#thread .message[data-author=pat]"
        await pat.click(f"{mine} [data-action=edit]")
        await pat.type(f"{mine} .edit-box textarea", PAT_EDITED)
        await pat.click(f"{mine} [data-action=save]")
        for tab in (sam, maya):
            await tab.until(f"document.getElementById('thread').innerText.includes({json.dumps(PAT_EDITED)})",
                            what="the edit")
        assert "(edited)" in await sam.text(mine)
        assert not await sam.js(f"!!document.querySelector('{mine} [data-action=edit]')")  # not hers to edit

        # Pat asks /guidance in the channel: the answer is his alone.
        await pat.command("guidance")
        await pat.type("[data-composer=channel] [data-option=question]", QUESTION)
        await pat.click("[data-composer=channel] [data-action=run]")
        answer = await pat.until("""(() => { const m = [...document.querySelectorAll('#channel .message.ephemeral')]
            .find(m => m.querySelector('[data-embed]')); return m && m.querySelector('.e-title').innerText; })()""",
                                 what="the guidance answer")
        assert "friend" in answer.lower()
        await asyncio.sleep(0.5)
        for tab in (sam, maya):
            assert answer not in await tab.text("body"), f"{tab.name} saw pat's private answer"

        # Screenshots: channel and thread at desktop width (pat), at phone width (sam).
        shots = [await pat.shot(tmp_path / "room-desktop-channel-and-thread.png"),
                 await sam.shot(tmp_path / "room-phone-thread.png")]
        await sam.click("#thread .pane-head button")
        await sam.until("document.getElementById('thread').hidden", what="the channel again")
        shots.append(await sam.shot(tmp_path / "room-phone-channel.png"))
        overflow = await sam.js("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the phone layout is {overflow}px wider than the screen"
        assert all(s.read_bytes().startswith(b"\x89PNG") for s in shots)

        # Maya writes a chat of her own in /tweetchat new's form (a modal).
        await maya.command("tweetchat new")
        await maya.click("[data-composer=channel] [data-action=run]")
        await maya.until("!!document.querySelector('.modal')", what="the modal")
        await maya.js("""(() => { const fields = [...document.querySelectorAll('.modal [data-custom-id]')];
            const fill = ['Rehearsal chat', 'Welcome, co-hosts!', 'What went well?\\nWhat would you change?'];
            fields.forEach((f, i) => { if (!f.value) f.value = fill[i] || '10'; });
            document.querySelector('.modal [type=submit]').click(); })()""")
        await maya.until("document.getElementById('channel').innerText.includes('Saved Rehearsal chat (2 questions')",
                         what="the saved chat")
        assert not await maya.js("!!document.querySelector('.modal')")

        # Maya takes the transcript with /tweetchat transcript (autocomplete for the chat).
        await maya.command("tweetchat transcript")
        await maya.pick("chat", "")
        await maya.js("""(() => { const f = document.querySelector('[data-composer=channel] [data-option=format]');
            f.value = 'md'; })()""")
        await maya.click("[data-composer=channel] [data-action=run]")
        link = await maya.until("""(() => { const a = document.querySelector('#channel [data-attachment$=".md"]');
            return a && a.href; })()""", what="the transcript file")
        async with aiohttp.ClientSession() as http, http.get(link) as response:
            transcript = await response.text()
        assert PAT_EDITED in transcript and SAM_ANSWER in transcript
        assert PAT_ANSWER not in transcript.replace(PAT_EDITED, "")  # the edit, not the first version


async def test_the_room_refuses_what_discord_would_and_says_why(tmp_path):
    """The page's API answers bad actions with one line, and changes nothing."""
    from bot.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig(room=True)) as sb, aiohttp.ClientSession() as http:
        act = f"{sb.base_url}/room/api/act"
        pat = sb.member("pat")

        async def refused(body) -> str:
            async with http.post(act, json=body) as response:
                assert response.status == 400
                return (await response.json())["error"]

        assert "lower-case" in await refused({"as": "pat", "action": "add_person", "name": "Not Valid!"})
        assert "already here" in await refused({"as": "pat", "action": "add_person", "name": "sam"})
        too_long = await refused({"as": "pat", "action": "send", "channel_id": sb.channel_id, "content": "x" * 2001})
        assert too_long.startswith("Discord refused it") and "50035" in too_long
        mine = await pat.send("hello")
        assert "Discord refused it" in await refused({"as": "sam", "action": "edit", "message_id": str(mine.id),
                                                      "content": "not mine"})
        assert "would not send" in await refused({"as": "pat", "action": "invoke", "command": "nosuch",
                                                  "channel_id": sb.channel_id})
        assert sb.history()[-1].content == "hello" and len(sb.members) == 3  # maya, pat, sam: nobody added
        async with http.get(f"{sb.base_url}/room/api/state?as=nobody") as response:
            assert response.status == 404 and "add them first" in await response.text()
        async with http.get(f"{sb.base_url}/room/") as response:
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert sb.config.host == "127.0.0.1"
    with pytest.raises(ValueError, match="loopback only"):
        Sandbox(SandboxConfig(room=True, host="0.0.0.0"))


async def test_a_tab_catches_up_on_what_changed_before_its_live_socket_opened(tmp_path):
    """A page reads the state, then opens its socket: a post in between reaches no open
    socket, so the socket's first message tells the page to read the state again."""
    from bot.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig(room=True)) as sb, aiohttp.ClientSession() as http:
        async with http.get(f"{sb.base_url}/room/api/state?as=pat") as response:
            me = (await response.json())["me"]["id"]
        await sb.member("sam").send("posted while pat's tab was still connecting")
        async with http.ws_connect(f"{sb.base_url}/room/ws?as={me}") as socket:
            first = await asyncio.wait_for(socket.receive_json(), timeout=5)
        assert first == {"kind": "changed"}


HOSTILE = '<img src=x onerror="window.pwned=1"> **bold** <script>window.pwned=2</script>'


async def test_the_page_renders_discord_markdown_in_the_viewers_time_zone_and_never_member_html(tmp_path):
    """Markdown as Discord renders it, `<t:…>` in each viewer's own zone, and a member's
    HTML shown as text, never run; posting, deleting and adding a person from the page."""
    from bot.sandbox import Sandbox, SandboxConfig

    browser = chromium()
    async with Sandbox(SandboxConfig(room=True)) as sb, open_browser(browser, tmp_path / "profile") as chromium_:
        url = f"{sb.base_url}/room/"
        london = Tab(await chromium_.page(url + "#as=maya", width=1280, height=800), "maya")
        sydney = Tab(await chromium_.page("about:blank", width=1280, height=800), "pat")
        await sydney.page.call("Emulation.setTimezoneOverride", timezoneId="Australia/Sydney")
        await london.page.call("Emulation.setTimezoneOverride", timezoneId="Europe/London")
        await sydney.page.goto(url + "#as=pat")
        for tab in (london, sydney):
            await tab.until("document.body.dataset.ready === '1'", what="the room")
        await sb.member("sam").send("Starts <t:1700000000:t> (<t:1700000000:R>), see [the HCPC](https://www.hcpc-uk.org/) "
                                    "and ||a spoiler|| with `code`, ~~old~~ __new__ *now*")
        await sb.member("sam").send(HOSTILE)
        shown = {}
        for tab in (london, sydney):
            await tab.until("document.querySelectorAll('#channel .message').length >= 2", what="sam's posts")
            shown[tab.name] = await tab.js("""(() => { const [first, second] = document.querySelectorAll('#channel .message .content');
                return {time: first.querySelector('time').innerText, link: first.querySelector('a').href,
                        bold: !!second.querySelector('strong'), html: first.innerHTML, second: second.innerText,
                        injected: !!document.querySelector('#channel img, #channel script'), pwned: window.pwned || 0}; })()""")
        # 1700000000 is 22:13 UTC on 14 Nov 2023: 22:13 in London, 09:13 next morning in Sydney.
        assert "10:13" in shown["maya"]["time"] and "9:13" in shown["pat"]["time"], shown
        for seen in shown.values():
            assert seen["link"] == "https://www.hcpc-uk.org/"
            assert 'class="spoiler"' in seen["html"] and "<code>code</code>" in seen["html"]
            assert "<s>old</s>" in seen["html"] and "<u>new</u>" in seen["html"] and "<em>now</em>" in seen["html"]
            assert "years ago" in seen["html"]
            assert seen["bold"] and "<img src=x" in seen["second"] and "<script>" in seen["second"]
            assert not seen["injected"] and seen["pwned"] == 0

        # Pat posts in the channel from the page, then deletes it (a second click confirms).
        await sydney.type("[data-composer=channel] textarea", "a message I will take back")
        await sydney.click("[data-composer=channel] [data-action=send]")
        await london.until("document.getElementById('channel').innerText.includes('a message I will take back')",
                           what="pat's post")
        mine = "#channel .message[data-author=pat] [data-action=delete]"
        await sydney.click(mine)
        await sydney.click(mine)
        await london.until("!document.getElementById('channel').innerText.includes('a message I will take back')",
                           what="the deletion")
        assert "a message I will take back" not in "".join(m.content for m in sb.history())

        # Someone new joins the rehearsal from the page, as a member.
        await sydney.click("#add-person")
        await sydney.type("#new-person [name=name]", "rui")
        await sydney.click("#new-person [type=submit]")
        await sydney.until("document.title.startsWith('Rui')", what="the page as rui")
        await london.until("!!document.querySelector('#members [data-person=rui]')", what="rui in the member list")
        assert not sb.member("rui").is_moderator
