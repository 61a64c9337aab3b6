"""tweetchat-bot: run structured tweetchats on Discord."""
__version__ = "0.1.0"
