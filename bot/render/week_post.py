"""A module's weekly post: the sections people read, as plain text or as Discord embeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.render import limits
from bot.roadmap.schema import Module, Roadmap


@dataclass(frozen=True)
class PostSection:
    title: str
    lines: list[str]


def post_heading(module: Module) -> str:
    return f"{module.label} · {module.title}"


def post_sections(module: Module) -> list[PostSection]:
    """Materials, objectives, practice and checkpoint, in reading order; empty ones left out."""
    materials = []
    for material in module.materials:
        materials.append(f"• [{material.title}]({material.url})" if material.url else f"• {material.title}")
        materials.extend(f"  ◦ {detail}" for detail in material.details)
    checkpoint = module.checkpoint
    checkpoint_lines = [f"**{checkpoint.title}**" + (f" ({checkpoint.hours})" if checkpoint.hours else "")]
    if checkpoint.description:
        checkpoint_lines.append(checkpoint.description)
    checkpoint_lines.extend(f"• {requirement}" for requirement in checkpoint.requirements)
    sections = [
        PostSection("Study materials", materials),
        PostSection("Learning objectives", [f"• {o}" for o in module.objectives]),
        PostSection("Hands-on practice", [f"{n}. {p}" for n, p in enumerate(module.practice, start=1)]),
        PostSection("Checkpoint project", checkpoint_lines),
    ]
    return [section for section in sections if section.lines]


def intro_lines(roadmap: Roadmap, module: Module) -> list[str]:
    phase = roadmap.phase(module.phase)
    lines = [f"*{phase.title}*" if phase else ""]
    if module.summary:
        lines.append(module.summary)
    if module.hours:
        lines.append(f"Time commitment: {module.hours}")
    return [line for line in lines if line]


def render_text(roadmap: Roadmap, module: Module, due: datetime | None = None) -> str:
    """The post as plain text, for the command line."""
    lines = [post_heading(module), *intro_lines(roadmap, module)]
    for section in post_sections(module):
        lines.extend(["", section.title, *section.lines])
    if due is not None:
        lines.extend(["", f"Checkpoint due: {due:%Y-%m-%d %H:%M %Z}"])
    return "\n".join(lines).replace("**", "").replace("*", "")


PART_SUFFIX = " · part {index}/{total}"
PART_SUFFIX_ROOM = len(PART_SUFFIX.format(index=99, total=99))


def render_embeds(
    roadmap: Roadmap,
    module: Module,
    *,
    due: datetime | None = None,
    color: int = 0x5865F2,
    footer: str | None = None,
) -> list[discord.Embed]:
    """The post as embeds, each within Discord's limits with its footer counted; send one embed per message.

    With `footer`, every embed carries it (numbered "part i/n" when there are several), so each part of
    a post can be recognised in the channel on its own.
    """
    footer = limits.truncate(footer, limits.EMBED_FOOTER - PART_SUFFIX_ROOM) if footer else None
    room = limits.EMBED_TOTAL - (len(footer) + PART_SUFFIX_ROOM if footer else 0)
    intro = intro_lines(roadmap, module)
    if due is not None:
        timestamp = int(due.timestamp())
        intro.append(f"Checkpoint due <t:{timestamp}:F> (<t:{timestamp}:R>)")
    fields: list[tuple[str, str]] = []
    for section in post_sections(module):
        chunks = limits.split_lines(section.lines, limits.EMBED_FIELD_VALUE)
        fields.extend((section.title if i == 0 else f"{section.title} (cont.)", c) for i, c in enumerate(chunks))
    title = limits.truncate(post_heading(module), limits.EMBED_TITLE)
    description = limits.truncate("\n".join(intro), min(limits.EMBED_DESCRIPTION, room - len(title)))
    embeds = [discord.Embed(title=title, description=description, color=color)]
    for name, value in fields:
        current = embeds[-1]
        size = len(current) + len(name) + len(value)
        if len(current.fields) >= limits.EMBED_FIELDS or size > room:
            current = discord.Embed(title=limits.truncate(f"{title} (cont.)", limits.EMBED_TITLE), color=color)
            embeds.append(current)
        current.add_field(name=name, value=value, inline=False)
    if footer:
        for index, embed in enumerate(embeds, start=1):
            suffix = PART_SUFFIX.format(index=index, total=len(embeds)) if len(embeds) > 1 else ""
            embed.set_footer(text=footer + suffix)
    return embeds
