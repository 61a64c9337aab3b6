"""Thin Discord extensions: they turn slash commands and gateway events into calls on the core."""
