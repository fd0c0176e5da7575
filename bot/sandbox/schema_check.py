"""Application command schema validation as strict as Discord's bulk-overwrite endpoint."""

from __future__ import annotations

import unicodedata
from typing import Any

from .errors import FormErrors

CHAT_INPUT, USER, MESSAGE = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, CHANNEL, NUMBER = 3, 4, 7, 10
MAX_PER_TYPE = {CHAT_INPUT: 100, USER: 15, MESSAGE: 15}
Path = tuple[str | int, ...]


def check_commands(commands: Any) -> None:
    """Raise Discord's 50035 for a PUT /applications/.../commands body it would refuse."""
    form = FormErrors()
    if not isinstance(commands, list):
        form.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        form.raise_if_any()
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        _check_command(command, (index,), form)
        key = (command.get("type", CHAT_INPUT), command.get("name", ""))
        if key in seen:
            form.add((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(key)
    for kind, limit in MAX_PER_TYPE.items():
        if sum(1 for c in commands if c.get("type", CHAT_INPUT) == kind) > limit:
            form.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    form.raise_if_any()


def valid_chat_name(name: Any) -> bool:
    """Discord's ^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$, lowercase where a lowercase form exists."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32 or name != name.lower():
        return False
    # Devanagari and Thai combining marks (category M) are allowed by the script classes.
    return all(ch in "-_" or unicodedata.category(ch)[0] in "LN" or _is_deva_or_thai(ch) for ch in name)


def _is_deva_or_thai(ch: str) -> bool:
    return "\u0900" <= ch <= "\u097f" or "\u0e00" <= ch <= "\u0e7f"


def _check_name(value: Any, path: Path, chat: bool, form: FormErrors) -> None:
    if chat and not valid_chat_name(value):
        form.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    elif not chat and not (isinstance(value, str) and 1 <= len(value) <= 32):
        form.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")


def _check_description(value: Any, path: Path, chat: bool, form: FormErrors) -> None:
    if chat and not (isinstance(value, str) and 1 <= len(value) <= 100):
        form.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    elif not chat and value:
        form.add(path, "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description")


def _check_localized(data: dict[str, Any], path: Path, chat: bool, form: FormErrors) -> None:
    for locale, value in (data.get("name_localizations") or {}).items():
        _check_name(value, (*path, "name_localizations", locale), chat, form)
    for locale, value in (data.get("description_localizations") or {}).items():
        _check_description(value, (*path, "description_localizations", locale), chat, form)


def _check_command(command: dict[str, Any], path: Path, form: FormErrors) -> None:
    kind = command.get("type", CHAT_INPUT)
    if kind not in (CHAT_INPUT, USER, MESSAGE):
        form.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        return
    chat = kind == CHAT_INPUT
    _check_name(command.get("name"), (*path, "name"), chat, form)
    _check_description(command.get("description", ""), (*path, "description"), chat, form)
    _check_localized(command, path, chat, form)
    options = command.get("options") or []
    if options and not chat:
        form.add((*path, "options"), "APPLICATION_COMMAND_OPTIONS_INVALID", "Context menu commands cannot have options")
        return
    _check_options(options, (*path, "options"), form, depth=0)
    if _size(command) > 8000:
        form.add(path, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)")


def _size(node: dict[str, Any]) -> int:
    """Discord's 8000-character budget: names, descriptions and choice values, recursively."""
    total = len(str(node.get("name", ""))) + len(str(node.get("description", "")))
    total += sum(len(str(c.get("name", ""))) + len(str(c.get("value", ""))) for c in node.get("choices") or [])
    return total + sum(_size(option) for option in node.get("options") or [])


def _check_options(options: list[dict[str, Any]], path: Path, form: FormErrors, depth: int) -> None:
    """depth 0: command level, 1: inside a subcommand group, 2: inside a subcommand."""
    if len(options) > 25:
        form.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    kinds = [option.get("type") for option in options]
    nesting = [k in (SUB_COMMAND, SUB_COMMAND_GROUP) for k in kinds]
    if any(nesting) and not all(nesting):
        form.add(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                 "Sub-command and sub-command group option types are mutually exclusive to all other types")
    names: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        here = (*path, index)
        _check_option(option, here, form, depth)
        name = option.get("name", "")
        if name in names:
            form.add((*here, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option names must be unique")
        names.add(name)
        if option.get("required") and optional_seen:
            form.add((*here, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                     "Required options must be placed before non-required options")
        optional_seen = optional_seen or not option.get("required")


def _check_option(option: dict[str, Any], path: Path, form: FormErrors, depth: int) -> None:
    kind = option.get("type")
    if not isinstance(kind, int) or not 1 <= kind <= 11:
        form.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2, ..., 11).")
        return
    _check_name(option.get("name"), (*path, "name"), True, form)
    _check_description(option.get("description"), (*path, "description"), True, form)
    _check_localized(option, path, True, form)
    if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
        _check_nesting(option, kind, path, form, depth)
        return
    if option.get("options"):
        form.add((*path, "options"), "APPLICATION_COMMAND_OPTIONS_INVALID", "Only sub-commands can have options")
    _check_choices(option, kind, path, form)
    _check_bounds(option, kind, path, form)


def _check_nesting(option: dict[str, Any], kind: int, path: Path, form: FormErrors, depth: int) -> None:
    allowed_depth = 0 if kind == SUB_COMMAND_GROUP else 1
    if depth > allowed_depth:
        form.add((*path, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID_NESTING",
                 "Sub-command groups and sub-commands cannot be nested this deep")
        return
    if option.get("required"):
        form.add((*path, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                 "Sub-commands and groups cannot be required")
    children = option.get("options") or []
    if kind == SUB_COMMAND_GROUP and any(child.get("type") != SUB_COMMAND for child in children):
        form.add((*path, "options"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                 "Sub-command groups may only contain sub-commands")
        return
    _check_options(children, (*path, "options"), form, 1 if kind == SUB_COMMAND_GROUP else 2)


def _check_choices(option: dict[str, Any], kind: int, path: Path, form: FormErrors) -> None:
    choices = option.get("choices") or []
    if not choices:
        return
    if kind not in (STRING, INTEGER, NUMBER):
        form.add((*path, "choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                 "Choices are only allowed for string, integer and number options")
    if option.get("autocomplete"):
        form.add((*path, "autocomplete"), "APPLICATION_COMMAND_AUTOCOMPLETE_WITH_CHOICES",
                 "Autocomplete cannot be enabled on options with choices")
    if len(choices) > 25:
        form.add((*path, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not (isinstance(name, str) and 1 <= len(name) <= 100):
            form.add((*path, "choices", index, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        _check_choice_value(choice.get("value"), kind, (*path, "choices", index, "value"), form)


def _check_choice_value(value: Any, kind: int, path: Path, form: FormErrors) -> None:
    if kind == STRING and not (isinstance(value, str) and 1 <= len(value) <= 100):
        form.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    elif kind == INTEGER and (isinstance(value, bool) or not isinstance(value, int)):
        form.add(path, "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not int.")
    elif kind == NUMBER and (isinstance(value, bool) or not isinstance(value, (int, float))):
        form.add(path, "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not a valid number.")


def _check_bounds(option: dict[str, Any], kind: int, path: Path, form: FormErrors) -> None:
    for key in ("min_length", "max_length"):
        value = option.get(key)
        if value is None:
            continue
        if kind != STRING:
            form.add((*path, key), "APPLICATION_COMMAND_OPTION_LENGTH_INVALID", "Only string options have lengths")
        elif not (isinstance(value, int) and (0 if key == "min_length" else 1) <= value <= 6000):
            form.add((*path, key), "NUMBER_TYPE_MAX", "int value should be between 0 and 6000.")
    for key in ("min_value", "max_value"):
        if option.get(key) is not None and kind not in (INTEGER, NUMBER):
            form.add((*path, key), "APPLICATION_COMMAND_OPTION_VALUE_INVALID", "Only numeric options have bounds")
    if option.get("channel_types") and kind != CHANNEL:
        form.add((*path, "channel_types"), "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID",
                 "Only channel options have channel types")
