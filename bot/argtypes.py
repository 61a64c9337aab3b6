"""Command-line value types shared by `tweetchat` and `tweetchat sandbox`: a number within
a range, or one line saying what is wrong (argparse turns it into the error line)."""

from __future__ import annotations

import argparse
from typing import Callable


def number(kind: type, low: float, high: float, example: str | None = None) -> Callable[[str], float]:
    """An argparse type: a number of `kind` (int or float) from `low` to `high`."""
    hint = f"; e.g. {example}" if example else ""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}{hint}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g} to {high:g}{hint}")
        return value
    return parse
