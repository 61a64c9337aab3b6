"""A chat's record afterwards: the `transcript` grouped by question, the `stats` and
their chart, and what is kept about each member (`privacy`). Plain Python over the
store; `bot.exts.record` packs it for Discord."""
