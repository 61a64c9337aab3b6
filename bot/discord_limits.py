"""Discord's size limits that our posts must respect (from Discord's API documentation:
Resources > Message > Create Message; Resources > Message > Embed Limits;
Resources > Channel > Start Thread from Message; Reference > Uploading Files;
Interactions > Message Components)."""

MESSAGE_CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_FIELDS = 25
EMBED_TOTAL = 6000
THREAD_NAME = 100
BUTTON_LABEL = 80
EMBEDS_PER_MESSAGE = 10
# Uploads: 10 MiB per message in a server without boosts (Reference > Uploading Files).
ATTACHMENT_BYTES = 10 * 1024 * 1024
# Autocomplete and command choices (Interactions > Application Commands > Option Choice).
CHOICE_NAME = 100
CHOICE_VALUE = 100
AUTOCOMPLETE_CHOICES = 25
