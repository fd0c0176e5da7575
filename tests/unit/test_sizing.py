"""Everything the bot sends fits Discord's limits with all it carries: footers, names, notes, feedback."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import yaml

from bot.db.models import ReviewDecision
from bot.render import limits
from bot.render.review import decision_notice, review_embed, superseded_embed
from bot.render.week_post import render_embeds
from bot.roadmap.loader import load_roadmap_text
from bot.services.submissions import AttachmentInfo, Decision, SubmissionCard

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def crowded_roadmap():  # type: ignore[no-untyped-def]
    """One module whose sections fill embeds to the brim, so a footer added afterwards would overflow."""
    materials = [{"title": f"Reading {n} " + "x" * 150, "details": ["d" * 850]} for n in range(40)]
    module = {"week": 1, "title": "T" * 100, "phase": "core", "summary": "s" * 3000, "materials": materials,
              "checkpoint": {"title": "Project", "description": "p" * 900}}
    text = yaml.safe_dump({"id": "crowded", "title": "Crowded", "summary": "Full.",
                           "phases": [{"key": "core", "title": "Core"}], "modules": [module]})
    return load_roadmap_text(text, "crowded.yaml")


def test_every_part_of_a_week_post_fits_with_its_footer() -> None:
    roadmap = crowded_roadmap()
    footer = f"{'N' * 100} · Week 1 · cohort #123456"
    embeds = render_embeds(roadmap, roadmap.modules[0], due=NOW, footer=footer)
    assert len(embeds) > 3
    for index, embed in enumerate(embeds, start=1):
        assert len(embed) <= limits.EMBED_TOTAL
        assert embed.footer.text == f"{footer} · part {index}/{len(embeds)}"


def card(**changes: object) -> SubmissionCard:
    roadmap = crowded_roadmap()
    values: dict = dict(
        submission_id=1, version=3, cohort_id=1, cohort_name="C" * 100, user_id=42, display_name="D" * 100,
        module=roadmap.modules[0], link="https://example.com/" + "l" * 2028, notes="n" * 1000,
        attachment=AttachmentInfo("https://cdn.example.com/" + "u" * 2000, "f" * 256, 10, "text/plain"),
        late=True, submitted_at=NOW, deadline=NOW, review_channel_id=1, cohort_channel_id=2,
    )
    return SubmissionCard(**(values | changes))


def test_a_decided_review_message_fits_with_long_notes_names_and_feedback() -> None:
    full = card()
    decision = Decision(full, ReviewDecision.CHANGES_REQUESTED, 7, "f\n" * 500, NOW, 1)
    embed = review_embed(full, decision)
    assert len(embed) <= limits.EMBED_TOTAL
    assert "Changes requested by <@7>" in embed.fields[-1].value
    assert len(superseded_embed(embed, 4)) <= limits.EMBED_TOTAL


def test_fit_embed_cuts_the_longest_text_and_leaves_a_fitting_embed_alone() -> None:
    embed = discord.Embed(title="t", description="d" * 4000)
    embed.add_field(name="a", value="a" * 1024)
    embed.add_field(name="b", value="b" * 1024)
    embed.add_field(name="c", value="c" * 100)
    limits.fit_embed(embed)
    assert len(embed) <= limits.EMBED_TOTAL
    assert embed.description.endswith("…") and embed.fields[2].value == "c" * 100
    small = discord.Embed(title="t", description="short")
    assert limits.fit_embed(small).description == "short"


def test_a_notice_with_long_many_line_feedback_fits_one_message_and_keeps_its_closing_line() -> None:
    decision = Decision(card(), ReviewDecision.CHANGES_REQUESTED, 7, "x\n" * 500, NOW, 1)  # 1,000: the maximum
    text = decision_notice(decision)
    assert len(text) <= limits.NOTICE_TEXT
    assert "\n> x\n> x" in text and text.endswith("Resubmit with /submit when it is ready.")
