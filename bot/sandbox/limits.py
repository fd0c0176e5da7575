"""Discord's message limits (content, embeds, components), reported as 50035 form errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import ApiError, FormErrors

IS_COMPONENTS_V2 = 1 << 15
EMBED_LIMITS = {"title": 256, "description": 4096}
Path = tuple[str | int, ...]


def check_message(payload: dict[str, Any], *, creating: bool, has_files: bool) -> None:
    """Raise the ApiError Discord would answer for this create/edit message body."""
    form = FormErrors()
    content = payload.get("content") or ""
    if len(content) > 2000:
        form.add(("content",), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    if len(str(payload.get("nonce") or "")) > 25:
        form.add(("nonce",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    embeds = payload.get("embeds") or []
    _check_embeds(embeds, form)
    components = payload.get("components") or []
    flags = payload.get("flags") or 0
    _check_components(components, bool(flags & IS_COMPONENTS_V2), form)
    if flags & IS_COMPONENTS_V2 and (content or embeds):
        form.add(("content",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                 "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2")
    form.raise_if_any()
    empty = not (content or embeds or components or has_files or payload.get("sticker_ids") or payload.get("poll"))
    if creating and empty:
        raise ApiError(400, 50006)


def _too_long(form: FormErrors, path: Path, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        form.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _required(form: FormErrors, path: Path, value: Any) -> None:
    if not value:
        form.add(path, "BASE_TYPE_REQUIRED", "This field is required")


def _check_embeds(embeds: list[dict[str, Any]], form: FormErrors) -> None:
    if len(embeds) > 10:
        form.add(("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        total += _check_embed(embed, ("embeds", index), form)
    if total > 6000:
        form.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def _check_embed(embed: dict[str, Any], path: Path, form: FormErrors) -> int:
    """Check one embed and return the characters it counts toward the 6000 total."""
    counted = 0
    for key, limit in EMBED_LIMITS.items():
        _too_long(form, (*path, key), embed.get(key), limit)
        counted += len(embed.get(key) or "")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        form.add((*path, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, item in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            _required(form, (*path, "fields", index, key), item.get(key))
            _too_long(form, (*path, "fields", index, key), item.get(key), limit)
            counted += len(item.get(key) or "")
    footer = (embed.get("footer") or {}).get("text")
    _too_long(form, (*path, "footer", "text"), footer, 2048)
    author = (embed.get("author") or {}).get("name")
    _too_long(form, (*path, "author", "name"), author, 256)
    return counted + len(footer or "") + len(author or "")


def walk_components(
    components: list[dict[str, Any]], path: Path = ("components",)
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every component with its form path, depth first, through rows, containers, sections and labels."""
    for index, component in enumerate(components):
        here = (*path, index)
        yield here, component
        yield from walk_components(component.get("components") or [], (*here, "components"))
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield (*here, key), component[key]
                yield from walk_components(component[key].get("components") or [], (*here, key, "components"))


def _check_components(components: list[dict[str, Any]], v2: bool, form: FormErrors) -> None:
    if not v2:
        if len(components) > 5:
            form.add(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for index, row in enumerate(components):
            if row.get("type") != 1:
                form.add(("components", index, "type"), "UNION_TYPE_CHOICES",
                         "Value of field \"type\" must be one of (1,).")
    elif sum(1 for _ in walk_components(components)) > 40:
        form.add(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
    seen: set[str] = set()
    for path, component in walk_components(components):
        _check_component(component, path, seen, form)


def _check_component(component: dict[str, Any], path: Path, seen: set[str], form: FormErrors) -> None:
    kind = component.get("type")
    if kind == 1 and len(component.get("components") or []) > 5:
        form.add((*path, "components"), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    custom_id = component.get("custom_id")
    if kind == 2:
        _too_long(form, (*path, "label"), component.get("label"), 80)
        link_like = component.get("style") in (5, 6)
        if not link_like and not custom_id:
            form.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    if kind == 3 and not 1 <= len(component.get("options") or []) <= 25:
        form.add((*path, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
    if custom_id is None:
        return
    _too_long(form, (*path, "custom_id"), custom_id, 100)
    if custom_id in seen:
        form.add((*path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
    seen.add(custom_id)


def check_modal(data: dict[str, Any]) -> None:
    form = FormErrors()
    title = data.get("title") or ""
    if not 1 <= len(title) <= 45:
        form.add(("data", "title"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    _too_long(form, ("data", "custom_id"), data.get("custom_id"), 100)
    if not 1 <= len(data.get("components") or []) <= 5:
        form.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for path, component in walk_components(data.get("components") or [], ("data", "components")):
        if component.get("type") in (4, 18):
            _too_long(form, (*path, "label"), component.get("label"), 45)
    form.raise_if_any()


def check_choices(data: dict[str, Any]) -> None:
    choices = data.get("choices") or []
    if len(choices) > 25:
        form = FormErrors()
        form.add(("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        form.raise_if_any()
