"""The whole check an uploaded roadmap gets: the loader's rules plus the size of every week post."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import RoadmapInvalid
from bot.render.week_post import render_embeds
from bot.roadmap import Roadmap, load_roadmap_bytes
from bot.roadmap.limits import MAX_POST_MESSAGES

# A due date makes the post as long as it can be (the due line is part of its first message).
_SAMPLE_DUE = datetime(2030, 1, 1, tzinfo=UTC)


def check_roadmap_bytes(data: bytes, source: str) -> Roadmap:
    """Validate raw bytes as an upload is validated; raises `RoadmapInvalid` listing every problem."""
    return checked_posts(load_roadmap_bytes(data, source), source)


def checked_posts(roadmap: Roadmap, source: str) -> Roadmap:
    """The roadmap itself when every week post fits; else `RoadmapInvalid` naming the modules."""
    problems = post_size_problems(roadmap)
    if problems:
        raise RoadmapInvalid(source, problems)
    return roadmap


def post_size_problems(roadmap: Roadmap) -> list[str]:
    """Modules whose week post would take more than `MAX_POST_MESSAGES` messages."""
    problems = []
    for index, module in enumerate(roadmap.modules):
        messages = len(render_embeds(roadmap, module, due=_SAMPLE_DUE))
        if messages > MAX_POST_MESSAGES:
            problems.append(
                f"modules[{index}]: its week post would take {messages} messages; a week post may take at "
                f"most {MAX_POST_MESSAGES} (shorten its materials, objectives, practice or checkpoint)"
            )
    return problems
