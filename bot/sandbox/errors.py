"""Discord's JSON error responses, as "Topics > Opcodes and Status Codes > JSON" lists them.

Handlers raise :class:`APIError`; the REST layer turns it into Discord's error body
``{"code": ..., "message": ..., "errors": ...}`` with the documented HTTP status.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error the sandbox answers with, carrying Discord's status, code and message."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def unauthorized() -> APIError:
    return APIError(401, 0, "401: Unauthorized")


def not_found() -> APIError:
    return APIError(404, 0, "404: Not Found")


def unknown_channel() -> APIError:
    return APIError(404, 10003, "Unknown Channel")


def unknown_guild() -> APIError:
    return APIError(404, 10004, "Unknown Guild")


def unknown_member() -> APIError:
    return APIError(404, 10007, "Unknown Member")


def unknown_message() -> APIError:
    return APIError(404, 10008, "Unknown Message")


def unknown_user() -> APIError:
    return APIError(404, 10013, "Unknown User")


def unknown_webhook() -> APIError:
    return APIError(404, 10015, "Unknown Webhook")


def invalid_webhook_token() -> APIError:
    """An interaction token past its 15 minutes ("Receiving and Responding > Followup Messages")."""
    return APIError(401, 50027, "Invalid Webhook Token")


def unknown_interaction() -> APIError:
    return APIError(404, 10062, "Unknown interaction")


def unknown_application_command() -> APIError:
    return APIError(404, 10063, "Unknown application command")


def unknown_scheduled_event() -> APIError:
    return APIError(404, 10070, "Unknown Guild Scheduled Event")


def missing_access() -> APIError:
    return APIError(403, 50001, "Missing Access")


def cannot_edit_others_message() -> APIError:
    return APIError(403, 50005, "Cannot edit a message authored by another user")


def cannot_message_user() -> APIError:
    """A DM to a user who does not accept them (or shares no server with the bot)."""
    return APIError(403, 50007, "Cannot send messages to this user")


def empty_message() -> APIError:
    return APIError(400, 50006, "Cannot send an empty message")


def missing_permissions() -> APIError:
    return APIError(403, 50013, "Missing Permissions")


def thread_archived() -> APIError:
    return APIError(400, 50083, "Thread is archived")


def already_acknowledged() -> APIError:
    return APIError(400, 40060, "Interaction has already been acknowledged.")


def thread_already_created() -> APIError:
    return APIError(400, 160004, "A thread has already been created for this message")


def invalid_form_body(errors: dict[str, Any]) -> APIError:
    """50035 with Discord's nested ``errors`` object (see "Example JSON Error Response")."""
    return APIError(400, 50035, "Invalid Form Body", errors)


def field_error(path: str, code: str, message: str) -> APIError:
    """50035 for one field; ``path`` is dotted (``"options.0.name"``) as Discord nests it."""
    node: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        node = {part: node}
    return invalid_form_body(node)
