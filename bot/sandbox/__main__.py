"""``python -m bot.sandbox``: the same as ``tweetchat sandbox``."""

import sys

from .cli import main

sys.exit(main())
