"""The seed chat and a fixed evening, shared by the tests."""

from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_CHAT = ROOT / "data" / "chats" / "physiotalk-2016-10-17-professionalism.toml"

# A Monday evening well in the future, in winter (GMT = UTC).
EVENING = datetime(2030, 12, 2, 20, 0, tzinfo=timezone.utc)
