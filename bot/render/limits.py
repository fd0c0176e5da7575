"""Discord's size limits, and splitting text so that no piece exceeds one."""

from __future__ import annotations

import discord

MESSAGE_CONTENT = 2000
NOTICE_TEXT = MESSAGE_CONTENT - 30
"""A learner's notice leaves room for the mention the channel fallback puts in front of it."""
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FOOTER = 2048
EMBED_FIELD_VALUE = 1024
EMBED_FIELDS = 25
EMBED_TOTAL = 6000
THREAD_NAME = 100


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit_embed(embed: discord.Embed, total: int = EMBED_TOTAL) -> discord.Embed:
    """Cut the longest texts (description, field values) until the whole embed counts at most `total` characters.

    Discord counts title, description, field names and values, footer and author together; anything a
    person typed (notes, feedback, names) can push a message past that, and Discord then refuses it."""
    while (excess := len(embed) - total) > 0:
        texts = [(len(embed.description or ""), -1)] + [(len(f.value or ""), i) for i, f in enumerate(embed.fields)]
        length, index = max(texts)
        if length <= 1:
            break  # only title, names and footer are left: each is already within its own limit
        if index < 0:
            embed.description = truncate(embed.description or "", max(length - excess, 1))
        else:
            field = embed.fields[index]
            value = truncate(field.value or "", max(length - excess, 1))
            embed.set_field_at(index, name=field.name, value=value, inline=field.inline)
    return embed


def split_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into chunks of at most `limit` characters, breaking only between lines when possible."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in _hard_wrap(line, limit):
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) > limit:
                chunks.append(current)
                candidate = piece
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _hard_wrap(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    pieces = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    return [*pieces, line] if line else pieces
