"""Running chats: the exactly-once step `dispatcher`, the moderators' operations
(`control`) and the terminal `rehearsal` poster. Plain Python over the store; the
Discord side plugs in through :class:`bot.run.dispatcher.Poster`."""
