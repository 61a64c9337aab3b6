"""Discord's contract, held against every request the sandbox receives.

Two sources, in Discord's own order of authority:

* **Discord's OpenAPI spec** (``spec/openapi.json``, API v10): each request body is validated
  against its operation's request schema, and each response against the response schema for
  its status. A request outside the schema is refused as Discord refuses it: ``400`` with
  code ``50035`` ("Invalid Form Body") and an ``errors`` tree naming each field
  (``{"embeds": {"0": {"title": {"_errors": [{"code": ..., "message": ...}]}}}}``).
* **The developer documentation**, where it says more than the spec or differs from it (the
  spec is a preview; the docs win). Each rule in :data:`DOCS_RULES` names its docs section.

Fields the spec does not define are not refused (Discord ignores unknown fields) but are
recorded as :class:`Violation` with ``rule="unknown field"`` so a test can say which ones it
expects; response-side problems are recorded, never refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import jsonschema
import referencing
import referencing.exceptions
from jsonschema import validators
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("spec") / "openapi.json"
_SPEC_URI = "urn:discord:openapi"

# "Resources > Message > Create Message": content is up to 2,000 characters for a bot (the
# spec's 4,000 is the Nitro limit for users).
MAX_CONTENT = 2000
# "Resources > Message > Embed Limits": the sum over all embeds of a message.
MAX_EMBEDS_TEXT = 6000
# "Interactions > Message Components > Action Rows": a message without the components v2
# flag has at most 5 rows.
MAX_LEGACY_ROWS = 5
IS_COMPONENTS_V2 = 1 << 15
# "Interactions > Receiving and Responding > Modal": 1 to 5 components.
MAX_MODAL_ROWS = 5
# "Interactions > Application Commands > Application Command Option Choice Structure":
# a choice's string value is 1-100 characters (the spec allows 6,000).
MAX_CHOICE_VALUE = 100
# "Interactions > Application Commands > Limits": name, description and value of a command,
# its options and choices together.
MAX_COMMAND_TEXT = 4000
# "Reference > Uploading Files": 10 files, 10 MiB in all for a bot without boosts.
MAX_FILES = 10
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# "Interactions > Application Commands > Application Command Naming".
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)


@dataclass(frozen=True)
class Violation:
    """One way a request or response departs from Discord's contract."""

    route: str  # "POST /channels/{channel_id}/messages"
    side: str  # "request" | "response"
    path: str  # "embeds.0.title" ("" for the body itself)
    code: str  # Discord's error code, e.g. BASE_TYPE_MAX_LENGTH
    message: str
    rule: str  # "spec", "docs: <section>" or "unknown field"

    def __str__(self) -> str:
        where = self.path or "(body)"
        return f"{self.side} {self.route} {where}: {self.code} {self.message} [{self.rule}]"


# Who is told about each violation: the tests install an observer that collects the ones
# discord.py's requests cause. Called as observer(violation, user_agent).
Observer = Callable[["Violation", str], None]
observers: list[Observer] = []


def notice(violation: "Violation", user_agent: str) -> None:
    for observer in list(observers):
        observer(violation, user_agent)


@lru_cache(maxsize=1)
def default_contract() -> "Contract":
    """One contract per process: the spec is parsed and its validators compiled once."""
    return Contract()


def error_tree(violations: Iterable[Violation]) -> dict[str, Any]:
    """Discord's nested ``errors`` object for 50035: one ``_errors`` list per field path."""
    tree: dict[str, Any] = {}
    for violation in violations:
        node = tree
        for part in violation.path.split(".") if violation.path else ["_root"]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": violation.code, "message": violation.message})
    return tree


@lru_cache(maxsize=1)
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the schema validator, with the two liberties Discord's own parser takes -----------------

_base = validators.Draft202012Validator


def _type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    names = types if isinstance(types, list) else [types]
    # Snowflakes are strings in the spec; Discord also takes them as JSON numbers.
    if schema.get("format") == "snowflake" and isinstance(instance, int) and not isinstance(instance, bool):
        return
    # Discord coerces numeric strings where it wants an integer (permissions are sent so).
    if "integer" in names and isinstance(instance, str) and instance.lstrip("-").isdigit():
        return
    yield from _base.VALIDATORS["type"](validator, types, instance, schema)


_Validator = validators.extend(_base, {"type": _type})


class Contract:
    """The spec's schemas by route, and the checks that use them."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec or load_spec()
        resource = referencing.Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry = referencing.Registry().with_resources([(_SPEC_URI, resource), ("", resource)])
        self._operations: dict[str, tuple[str, str]] = {}  # "POST /x/{}" -> (spec path, method)
        for spec_path, item in self.spec["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    self._operations[f"{method.upper()} {_shape(spec_path)}"] = (spec_path, method)
        self._validators: dict[str, Any] = {}

    # --- lookups --------------------------------------------------------------------------

    def knows(self, route: str) -> bool:
        """Whether the spec has this route ("METHOD /template")."""
        return self._find(route) is not None

    def _find(self, route: str) -> tuple[str, str] | None:
        """The spec's (path, method) for a route; a parameter may stand for the spec's
        literal ``@me`` (the sandbox's ``{user_id}`` in reactions, say)."""
        shape = _route_shape(route)
        found = self._operations.get(shape)
        if found is None and "{}" in shape:
            parts = shape.split("/")
            for i, part in enumerate(parts):
                if part == "{}":
                    found = self._operations.get("/".join(parts[:i] + ["@me"] + parts[i + 1:]))
                    if found is not None:
                        break
        return found

    def _validator(self, pointer: str) -> Any:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = _Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry)
            self._validators[pointer] = validator
        return validator

    def _request_pointer(self, route: str) -> str | None:
        found = self._find(route)
        if found is None:
            return None
        spec_path, method = found
        body = self.spec["paths"][spec_path][method].get("requestBody")
        if not body or "application/json" not in body.get("content", {}):
            return None
        return f"/paths/{_escape(spec_path)}/{method}/requestBody/content/application~1json/schema"

    def _response_pointer(self, route: str, status: int) -> str | None:
        found = self._find(route)
        if found is None:
            return None
        spec_path, method = found
        responses = self.spec["paths"][spec_path][method].get("responses", {})
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        content = responses.get(key, {}).get("content", {})
        if "application/json" not in content or not content["application/json"].get("schema"):
            return None
        return f"/paths/{_escape(spec_path)}/{method}/responses/{key}/content/application~1json/schema"

    # --- checks ---------------------------------------------------------------------------

    def refusals(self, route: str, body: Any) -> list[Violation]:
        """What Discord would refuse in this request body (spec schema, then the docs)."""
        found: list[Violation] = []
        pointer = self._request_pointer(route)
        if pointer is not None:
            for error in self._validator(pointer).iter_errors(body):
                found.extend(_translate(route, "request", error))
        for applies, rule in DOCS_RULES:
            if applies(route):
                found.extend(rule(route, body))
        return _unique(found)

    def unknown_fields(self, route: str, body: Any) -> list[Violation]:
        """Fields in the body that the operation's schema does not define."""
        pointer = self._request_pointer(route)
        if pointer is None:
            return []
        schema = self._resolve({"$ref": f"#{pointer}"})
        out: list[Violation] = []
        self._walk_unknown(route, schema, body, [], out)
        return out

    def response_problems(self, route: str, status: int, body: Any) -> list[Violation]:
        """How a response departs from the spec's response schema (recorded, not refused)."""
        pointer = self._response_pointer(route, status)
        if pointer is None:
            return []
        found = []
        for error in self._validator(pointer).iter_errors(body):
            found.extend(_translate(route, "response", error))
        return _unique(found)

    def schema_problems(self, schema: str, payload: Any) -> list[Violation]:
        """How ``payload`` departs from one of the spec's named schemas ("GuildResponse")."""
        found = []
        for error in self._validator(f"/components/schemas/{schema}").iter_errors(payload):
            found.extend(_translate(schema, "response", error))
        return _unique(found)

    # --- unknown fields ----------------------------------------------------------------------

    def _resolve(self, schema: Any) -> Any:
        return self._resolve_with_pointer(schema)[0]

    def _resolve_with_pointer(self, schema: Any) -> tuple[Any, str | None]:
        pointer = None
        while isinstance(schema, dict) and "$ref" in schema:
            pointer = schema["$ref"].split("#", 1)[1]
            node: Any = self.spec
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema, pointer

    def _branches(self, schema: Any, instance: Any) -> list[dict[str, Any]]:
        """The object schemas that describe ``instance``: unions pick the branch it matches."""
        schema = self._resolve(schema)
        if not isinstance(schema, dict):
            return []
        for union in ("oneOf", "anyOf"):
            if union in schema:
                candidates = [self._resolve_with_pointer(s) for s in schema[union]]
                matching = [s for s, pointer in candidates if self._validates(s, pointer, instance)]
                # A field is unknown only if no branch the instance fits defines it.
                picked = matching or [s for s, _ in candidates if s.get("type") != "null"][:1]
                return [b for s in picked for b in self._branches(s, instance)]
        if "allOf" in schema:
            return [b for s in schema["allOf"] for b in self._branches(s, instance)] + [schema]
        return [schema]

    def _validates(self, schema: dict[str, Any], pointer: str | None, instance: Any) -> bool:
        if pointer is not None:
            return self._validator(pointer).is_valid(instance)
        try:  # an inline schema: its refs, if any, point into the spec
            return _Validator(schema, registry=self._registry).is_valid(instance)
        except referencing.exceptions.Unresolvable:
            return False

    def _walk_unknown(self, route: str, schema: Any, instance: Any, path: list[str], out: list[Violation]) -> None:
        if isinstance(instance, dict):
            branches = [b for b in self._branches(schema, instance) if isinstance(b, dict)]
            properties: dict[str, Any] = {}
            open_ended = False
            for branch in branches:
                properties.update(branch.get("properties", {}))
                if branch.get("additionalProperties") not in (None, False) or branch.get("patternProperties"):
                    open_ended = True
            for key, value in instance.items():
                if key in properties:
                    self._walk_unknown(route, properties[key], value, path + [key], out)
                elif not open_ended and properties:
                    out.append(Violation(route, "request", ".".join(path + [key]), "UNKNOWN_FIELD",
                                         "Not a field of this object in Discord's spec.", "unknown field"))
        elif isinstance(instance, list):
            branches = [b for b in self._branches(schema, instance) if isinstance(b, dict)]
            items = next((b["items"] for b in branches if "items" in b), None)
            if items is not None:
                for index, value in enumerate(instance):
                    self._walk_unknown(route, items, value, path + [str(index)], out)


# --- translating schema errors into Discord's codes -------------------------------------------


def _translate(route: str, side: str, error: jsonschema.ValidationError) -> list[Violation]:
    """Discord's error for one schema error; a union is explained by the branch meant."""
    if error.validator in ("oneOf", "anyOf"):
        if not error.context:
            return []  # valid under several branches: an ambiguity of the spec, not ours
        meant = _meant_branch(error)
        if meant is None:
            expected = _union_types(error)
            return [Violation(route, side, _path(error), "UNION_TYPE_CHOICES",
                              f"Value of field \"type\" must be one of {expected}." if expected
                              else "Value does not match any of the accepted shapes.", "spec")]
        return [v for sub in meant for v in _translate(route, side, sub)]
    code, message = _code(error)
    path = _path(error)
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance]
        return [Violation(route, side, ".".join(p for p in (path, name) if p), code, message, "spec") for name in missing]
    return [Violation(route, side, path, code, message, "spec")]


def _meant_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError] | None:
    """The errors of the union branch the instance was meant for: branches whose ``type``
    discriminator or basic JSON type does not fit are not meant."""
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        by_branch.setdefault(sub.schema_path[0], []).append(sub)
    meant = []
    for errors_ in by_branch.values():
        base = len(error.absolute_path)
        wrong = any(
            (len(e.absolute_path) == base and e.validator == "type")
            or (len(e.absolute_path) == base + 1 and e.absolute_path[-1] == "type" and e.validator in ("enum", "const"))
            or (len(e.absolute_path) == base and e.validator == "required" and "type" in e.validator_value
                and isinstance(e.instance, dict) and "type" not in e.instance)
            for e in errors_
        )
        if not wrong:
            meant.append(errors_)
    if not meant:
        return None
    return min(meant, key=len)


def _union_types(error: jsonschema.ValidationError) -> str:
    values = []
    for sub in error.context or []:
        if sub.validator == "enum" and list(sub.absolute_path)[-1:] == ["type"]:
            values.extend(sub.validator_value)
    return "(" + ", ".join(str(v) for v in sorted(set(values))) + ")" if values else ""


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path)


def _code(error: jsonschema.ValidationError) -> tuple[str, str]:
    kind, value, schema, instance = error.validator, error.validator_value, error.schema, error.instance
    if kind in ("maxLength", "minLength"):
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low and high:
            return "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
        if kind == "maxLength":
            return "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length."
        return "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length."
    if kind in ("maxItems", "maxProperties"):
        return "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length."
    if kind in ("minItems", "minProperties"):
        return "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length."
    if kind in ("maximum", "exclusiveMaximum"):
        return "NUMBER_TYPE_MAX", f"int value should be less than or equal to {value}."
    if kind in ("minimum", "exclusiveMinimum"):
        return "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {value}."
    if kind == "required":
        return "BASE_TYPE_REQUIRED", "This field is required"
    if kind in ("enum", "const"):
        choices = value if kind == "enum" else [value]
        return "BASE_TYPE_CHOICES", "Value must be one of {" + ", ".join(repr(c) for c in choices) + "}."
    if kind == "pattern":
        return "STRING_TYPE_REGEX", "String value did not match validation regex."
    if kind == "uniqueItems":
        return "LIST_ITEM_VALUE_DUPLICATE", "List items must be unique."
    if kind == "type":
        wanted = value if isinstance(value, list) else [value]
        shown = json.dumps(instance)[:50]
        if "object" in wanted:
            return "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
        if "array" in wanted:
            return "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
        if "integer" in wanted or "number" in wanted:
            return "NUMBER_TYPE_COERCE", f"Value {shown} is not int."
        if "boolean" in wanted:
            return "BOOLEAN_TYPE_CONVERT", f"Could not interpret {shown} as boolean."
        return "STRING_TYPE_CONVERT", f"Could not interpret {shown} as string."
    return "BASE_TYPE_BAD_VALUE", error.message[:200]


def _unique(found: list[Violation]) -> list[Violation]:
    return list(dict.fromkeys(found))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _route_shape(route: str) -> str:
    method, _, template = route.partition(" ")
    return f"{method} {_shape(template)}"


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


# --- what the documentation says beyond the spec ----------------------------------------------

Rule = Callable[[str, Any], list[Violation]]


def _docs(route: str, path: str, code: str, message: str, section: str) -> Violation:
    return Violation(route, "request", path, code, message, f"docs: {section}")


def _message_routes(route: str) -> bool:
    return route in MESSAGE_ROUTES


MESSAGE_ROUTES = {
    "POST /channels/{channel_id}/messages",
    "PATCH /channels/{channel_id}/messages/{message_id}",
    "POST /webhooks/{webhook_id}/{webhook_token}",
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    "POST /interactions/{interaction_id}/{interaction_token}/callback",
}
COMMAND_ROUTES = {
    "PUT /applications/{application_id}/commands": True,
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": True,
    "POST /applications/{application_id}/commands": False,
    "POST /applications/{application_id}/guilds/{guild_id}/commands": False,
}


def _messages_in(route: str, body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The message object(s) in a body, with their path prefix."""
    if not isinstance(body, dict):
        return
    if route.startswith("POST /interactions/"):
        data = body.get("data")
        if body.get("type") in (4, 7) and isinstance(data, dict):
            yield "data.", data
        return
    yield "", body


def _message_rules(route: str, body: Any) -> list[Violation]:
    found = []
    for prefix, message in _messages_in(route, body):
        content = message.get("content")
        if isinstance(content, str) and len(content) > MAX_CONTENT:
            found.append(_docs(route, f"{prefix}content", "BASE_TYPE_MAX_LENGTH",
                               f"Must be {MAX_CONTENT} or fewer in length.", "Resources > Message > Create Message"))
        embeds = message.get("embeds")
        if isinstance(embeds, list) and embeds_text(embeds) > MAX_EMBEDS_TEXT:
            found.append(_docs(route, f"{prefix}embeds", "MAX_EMBED_SIZE_EXCEEDED",
                               f"Embed size exceeds maximum size of {MAX_EMBEDS_TEXT}",
                               "Resources > Message > Embed Limits"))
        found.extend(_component_rules(route, prefix, message))
        found.extend(_mention_rules(route, prefix, message))
    return found


def embeds_text(embeds: list[Any]) -> int:
    """The characters that count toward the 6,000 of "Embed Limits"."""
    total = 0
    for embed in embeds:
        if not isinstance(embed, dict):
            continue
        total += len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
        total += len(str((embed.get("footer") or {}).get("text") or ""))
        total += len(str((embed.get("author") or {}).get("name") or ""))
        for field in embed.get("fields") or []:
            if isinstance(field, dict):
                total += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    return total


# A button's style decides the one field it needs and those it must not have: link buttons
# (5) a url, premium buttons (6) a sku_id, the others a custom_id.
_BUTTON_FIELDS = {5: ("url", ("custom_id",)), 6: ("sku_id", ("custom_id", "url"))}
_OTHER_BUTTONS = ("custom_id", ("url",))


def _component_rules(route: str, prefix: str, message: dict[str, Any]) -> list[Violation]:
    rows = message.get("components")
    if not isinstance(rows, list):
        return []
    section = "Interactions > Message Components"
    found = []
    v2 = bool(int(message.get("flags") or 0) & IS_COMPONENTS_V2)
    if not v2 and len(rows) > MAX_LEGACY_ROWS:
        found.append(_docs(route, f"{prefix}components", "BASE_TYPE_MAX_LENGTH",
                           f"Must be {MAX_LEGACY_ROWS} or fewer in length.", f"{section} > Action Rows"))
    for r, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        if not v2 and row.get("type") != 1:
            found.append(_docs(route, f"{prefix}components.{r}.type", "UNION_TYPE_CHOICES",
                               "Value of field \"type\" must be one of (1,).", f"{section} > Action Rows"))
        children = row.get("components") if isinstance(row.get("components"), list) else []
        selects = [c for c in children if isinstance(c, dict) and c.get("type") in (3, 5, 6, 7, 8)]
        if selects and len(children) > 1:
            found.append(_docs(route, f"{prefix}components.{r}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                               "The specified component exceeds the maximum width", f"{section} > Action Rows"))
        for c, child in enumerate(children):
            if not isinstance(child, dict) or child.get("type") != 2:
                continue
            where = f"{prefix}components.{r}.components.{c}"
            need, forbidden = _BUTTON_FIELDS.get(child.get("style"), _OTHER_BUTTONS)
            if not child.get(need):
                found.append(_docs(route, f"{where}.{need}", f"BUTTON_COMPONENT_{need.upper()}_REQUIRED",
                                   f"A {need} is required", f"{section} > Button"))
            for name in forbidden:
                if child.get(name):
                    found.append(_docs(route, f"{where}.{name}", "BUTTON_COMPONENT_INVALID_FIELD",
                                       f"This button style cannot have a {name}", f"{section} > Button"))
    return found


def _mention_rules(route: str, prefix: str, message: dict[str, Any]) -> list[Violation]:
    allowed = message.get("allowed_mentions")
    if not isinstance(allowed, dict):
        return []
    parse = allowed.get("parse") or []
    found = []
    for kind in ("users", "roles"):
        if kind in parse and allowed.get(kind):
            found.append(_docs(route, f"{prefix}allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                               f"parse:[\"{kind}\"] and {kind}: [ids] are mutually exclusive.",
                               "Resources > Message > Allowed Mentions Object"))
    return found


def _interaction_rules(route: str, body: Any) -> list[Violation]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return []
    found = []
    data = body["data"]
    if body.get("type") == 8:
        for i, choice in enumerate(data.get("choices") or []):
            if isinstance(choice, dict) and isinstance(choice.get("value"), str) and len(choice["value"]) > MAX_CHOICE_VALUE:
                found.append(_docs(route, f"data.choices.{i}.value", "BASE_TYPE_BAD_LENGTH",
                                   f"Must be between 1 and {MAX_CHOICE_VALUE} in length.",
                                   "Interactions > Application Commands > Application Command Option Choice Structure"))
    if body.get("type") == 9:
        rows = data.get("components") if isinstance(data.get("components"), list) else []
        if len(rows) > MAX_MODAL_ROWS:
            found.append(_docs(route, "data.components", "BASE_TYPE_MAX_LENGTH",
                               f"Must be {MAX_MODAL_ROWS} or fewer in length.",
                               "Interactions > Receiving and Responding > Modal"))
        for r, row in enumerate(data.get("components") or []):
            for c, child in enumerate((row or {}).get("components") or [] if isinstance(row, dict) else []):
                if not isinstance(child, dict):
                    continue
                low, high = child.get("min_length"), child.get("max_length")
                if isinstance(low, int) and isinstance(high, int) and low > high:
                    found.append(_docs(route, f"data.components.{r}.components.{c}.min_length",
                                       "BASE_TYPE_BAD_VALUE", "min_length must be less than or equal to max_length",
                                       "Interactions > Message Components > Text Input"))
                value = child.get("value")
                if isinstance(value, str) and isinstance(high, int) and len(value) > high:
                    found.append(_docs(route, f"data.components.{r}.components.{c}.value",
                                       "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.",
                                       "Interactions > Message Components > Text Input"))
    return found


def _command_rules(route: str, body: Any) -> list[Violation]:
    bulk = COMMAND_ROUTES[route]
    commands = body if bulk else [body]
    if not isinstance(commands, list):
        return []
    section = "Interactions > Application Commands"
    found = []
    names: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        if not isinstance(command, dict):
            continue
        prefix = f"{index}." if bulk else ""
        type_ = command.get("type", 1)
        name = command.get("name")
        if isinstance(name, str):
            if type_ == 1 and (not COMMAND_NAME.match(name) or name != name.lower()):
                found.append(_docs(route, f"{prefix}name", "APPLICATION_COMMAND_INVALID_NAME",
                                   "Command name is invalid", f"{section} > Application Command Naming"))
            if (name, type_) in names:
                found.append(_docs(route, f"{prefix}name", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                                   "Application command names must be unique", section))
            names.add((name, type_))
        if type_ == 1 and not command.get("description"):
            found.append(_docs(route, f"{prefix}description", "BASE_TYPE_BAD_LENGTH",
                               "Must be between 1 and 100 in length.", f"{section} > Application Command Object"))
        found.extend(_option_rules(route, f"{prefix}options", command.get("options")))
        if command_text(command) > MAX_COMMAND_TEXT:
            found.append(_docs(route, prefix.rstrip(".") or "_root", "APPLICATION_COMMAND_TOO_LARGE",
                               f"Command exceeds maximum size ({MAX_COMMAND_TEXT})", f"{section} > Limits"))
    return found


def _option_rules(route: str, path: str, options: Any) -> list[Violation]:
    if not isinstance(options, list):
        return []
    section = "Interactions > Application Commands > Application Command Option Structure"
    found = []
    seen_optional = False
    names: set[str] = set()
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        where = f"{path}.{i}"
        name = option.get("name")
        if isinstance(name, str):
            if not COMMAND_NAME.match(name) or name != name.lower():
                found.append(_docs(route, f"{where}.name", "APPLICATION_COMMAND_INVALID_NAME",
                                   "Command name is invalid", "Interactions > Application Commands > Application Command Naming"))
            if name in names:
                found.append(_docs(route, f"{where}.name", "APPLICATION_COMMAND_OPTION_NAME_NOT_UNIQUE",
                                   "Option names must be unique", section))
            names.add(name)
        if option.get("type") in (1, 2):
            found.extend(_option_rules(route, f"{where}.options", option.get("options")))
            continue
        if option.get("required"):
            if seen_optional:
                found.append(_docs(route, f"{where}.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                   "Required options must be placed before non-required options", section))
        else:
            seen_optional = True
        for c, choice in enumerate(option.get("choices") or []):
            if isinstance(choice, dict) and isinstance(choice.get("value"), str) and len(choice["value"]) > MAX_CHOICE_VALUE:
                found.append(_docs(route, f"{where}.choices.{c}.value", "BASE_TYPE_BAD_LENGTH",
                                   f"Must be between 1 and {MAX_CHOICE_VALUE} in length.",
                                   "Interactions > Application Commands > Application Command Option Choice Structure"))
    return found


def command_text(command: dict[str, Any]) -> int:
    """Characters of a command's name, description and values, options and choices included."""
    total = len(str(command.get("name") or "")) + len(str(command.get("description") or ""))
    for option in command.get("options") or []:
        if isinstance(option, dict):
            total += command_text(option)
            for choice in option.get("choices") or []:
                if isinstance(choice, dict):
                    total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return total


DOCS_RULES: list[tuple[Callable[[str], bool], Rule]] = [
    (_message_routes, _message_rules),
    (lambda route: route.startswith("POST /interactions/"), _interaction_rules),
    (lambda route: route in COMMAND_ROUTES, _command_rules),
]


def upload_refusal(files: list[int]) -> tuple[int, int, str] | None:
    """Status, code and message for uploads over the count or size limit, else None."""
    if len(files) > MAX_FILES:
        return 400, 50035, "Invalid Form Body"
    if sum(files) > MAX_UPLOAD_BYTES:
        return 413, 40005, "Request entity too large"
    return None
