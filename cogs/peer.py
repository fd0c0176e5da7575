"""/peer queue and /peer discard, the persistent Review button and its form, and peer review's outbox deliveries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import known_guild, require_moderator
from bot.discord_port import guard
from bot.interaction_errors import ErrorHandlingModal, report_interaction_error
from bot.render import limits
from bot.render.messages import stamp
from bot.render.peer import assignment_dm, author_notice, discarded_notice, queue_text, short_notice
from bot.render.review import review_embed
from bot.services.outbox import OutboxItem
from bot.services.peer_facts import Verdict
from bot.services.peer_review import (
    MAX_COMMENT,
    PEER_ASSIGNED,
    PEER_DISCARDED,
    PEER_REVIEWED,
    PEER_SHORT,
    PEER_VERDICTS,
    Assignment,
    rubric_of,
)
from cogs.submissions import review_view

if TYPE_CHECKING:
    from bot.app import CohortBot

PEER_ID = r"peer:review:(?P<aid>\d+)"
BUTTONS_PER_MESSAGE = 25
MODAL_TITLE = 45
LABEL_TEXT = 45
OPTION_LABEL = 100


class PeerReviewButton(discord.ui.DynamicItem[discord.ui.Button], template=PEER_ID):
    """Opens the review form; the custom id carries the assignment, so it works after restarts and in DMs."""

    def __init__(self, assignment_id: int, number: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Review {number}" if number else "Review",
                style=discord.ButtonStyle.primary,
                custom_id=f"peer:review:{assignment_id}",
            )
        )
        self.assignment_id = assignment_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PeerReviewButton:
        return cls(int(match["aid"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        # discord.py swallows errors raised by dynamic items, so they go through our error path here.
        try:
            bot: CohortBot = interaction.client  # type: ignore[assignment]
            item = await bot.peer.assignment(self.assignment_id, interaction.user.id)
            await interaction.response.send_modal(PeerReviewModal(item))
        except Exception as exc:
            await report_interaction_error(interaction, exc)


class PeerReviewModal(ErrorHandlingModal):
    """Each requirement met, partly or not yet (two multi-selects: what is left out is "not yet"), and a comment."""

    def __init__(self, item: Assignment) -> None:
        super().__init__(title=limits.truncate(f"Review · {item.module.label} · {item.author_name}", MODAL_TITLE))
        self._item = item
        own = item.review.verdicts if item.review else ()
        self.met = self._select(item.rubric, own, Verdict.MET)
        self.partly = self._select(item.rubric, own, Verdict.PARTLY)
        self.comment: discord.ui.TextInput = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=MAX_COMMENT,
            default=item.review.comment if item.review else None,
        )
        self.add_item(discord.ui.Label(text="Requirements fully met", component=self.met))
        rest = "Requirements in neither list count as not yet"
        self.add_item(discord.ui.Label(text="Requirements partly met", description=rest, component=self.partly))
        self.add_item(discord.ui.Label(text="Comment for the author (optional)", component=self.comment))

    @staticmethod
    def _select(rubric: Sequence[str], own: Sequence[Verdict], verdict: Verdict) -> discord.ui.Select:
        options = [
            discord.SelectOption(
                label=limits.truncate(f"{i}. {requirement}", OPTION_LABEL),
                value=str(i - 1),
                default=len(own) >= i and own[i - 1] is verdict,
            )
            for i, requirement in enumerate(rubric, start=1)
        ]
        return discord.ui.Select(options=options, min_values=0, max_values=len(options), required=False)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: CohortBot = interaction.client  # type: ignore[assignment]
        item = self._item
        # Acknowledge at once: at a deadline many reviews arrive together and one may wait its turn to write.
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await bot.peer.review(
            item.id,
            interaction.user.id,
            [int(v) for v in self.met.values],
            [int(v) for v in self.partly.values],
            self.comment.value,
            editing=item.review is not None,
        )
        bot.outbox.deliver_soon(result.owed, key=interaction.id)
        done = "updated" if result.edited else "sent"
        await interaction.followup.send(
            f"Your review of {item.author_name}'s {item.module.label.lower()} checkpoint is {done}. "
            f"You can edit it until {stamp(item.due_at)} with the same Review button.",
            ephemeral=True,
        )


def review_buttons(items: Sequence[Assignment]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for number, item in enumerate(items[:BUTTONS_PER_MESSAGE], start=1):
        view.add_item(PeerReviewButton(item.id, number))
    return view


class PeerCommands(commands.Cog):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    peer = app_commands.Group(name="peer", description="Review your peers' checkpoints", guild_only=True)

    @peer.command(name="queue", description="The peer reviews assigned to you and still open, with their deadlines")
    async def queue(self, interaction: discord.Interaction) -> None:
        guild = known_guild(interaction)
        items = await self.bot.peer.queue(guild.id, interaction.user.id)
        chunks = queue_text(items)
        if not items:
            await interaction.response.send_message(chunks[0], ephemeral=True)
            return
        await interaction.response.send_message(chunks[0], view=review_buttons(items), ephemeral=True)
        for chunk in chunks[1:]:
            await interaction.followup.send(chunk, ephemeral=True)

    @peer.command(name="discard", description="Remove a peer review (moderators); its author is told")
    @app_commands.describe(review="The peer review's number, shown on the submission's review message")
    async def discard(self, interaction: discord.Interaction, review: app_commands.Range[int, 1]) -> None:
        await require_moderator(interaction)
        guild = known_guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        owed = await self.bot.peer.discard(guild.id, review, interaction.user.id)
        self.bot.outbox.deliver_soon(owed, key=interaction.id)
        await interaction.followup.send(
            f"Removed peer review #{review}. Its author is told, and the review message no longer shows it.",
            ephemeral=True,
        )

    # Outbox deliveries

    async def deliver_assigned(self, item: OutboxItem) -> None:
        """One DM to a reviewer with the submissions just given to them, a Review button for each."""
        items = await self.bot.peer.assigned(item.payload["assignment_ids"])
        if not items:
            return  # reviewed, passed on or erased before the DM went out
        first = items[0]
        await self.bot.notifier.notify(
            first.guild_id, first.reviewer_user_id, first.cohort_channel_id, assignment_dm(items),
            nonce=item.nonce, buttons=review_buttons(items),
        )

    async def deliver_reviewed(self, item: OutboxItem) -> None:
        notice = await self.bot.peer.notice(item.payload["review_id"], item.payload["edited"])
        if notice is None:
            return  # discarded or erased meanwhile
        text = author_notice(notice, rubric_of(notice.module))
        await self.bot.notifier.notify(
            notice.guild_id, notice.author_user_id, notice.cohort_channel_id, text, nonce=item.nonce
        )

    async def deliver_discarded(self, item: OutboxItem) -> None:
        p = item.payload
        text = discarded_notice(p["label"], p["cohort_name"], p["reviewer_name"])
        await self.bot.notifier.notify(p["guild_id"], p["user_id"], p["channel_id"], text, nonce=item.nonce)

    async def deliver_verdicts(self, item: OutboxItem) -> None:
        """Edit the moderators' review message so it shows the peer verdicts as they stand."""
        standing = await self.bot.peer.review_message_of(item.payload["submission_id"])
        if standing is None:
            return
        version, review_id = standing
        decision = await self.bot.submissions.decision(review_id) if review_id else None
        card = decision.card if decision else await self.bot.submissions.card(item.payload["submission_id"], version)
        if card is None or card.review_message_id is None:
            return  # erased, or not posted yet: the review message is posted with the verdicts of its moment
        message = self.bot.get_partial_messageable(card.review_channel_id).get_partial_message(card.review_message_id)
        embed = review_embed(card, decision)
        await guard(lambda: message.edit(embed=embed, view=review_view(card, decided=decision is not None)))

    async def deliver_short(self, item: OutboxItem) -> None:
        p = item.payload
        facts = await self.bot.peer.short_week(p["cohort_id"], p["week"])
        if facts is None:
            return
        name, module, submitters, channel_id = facts
        text = short_notice(name, module, submitters, p["reviewers"], p["short"])
        await self.bot.port.tell_moderators(channel_id, text)


async def setup(bot: CohortBot) -> None:
    bot.add_dynamic_items(PeerReviewButton)
    cog = PeerCommands(bot)
    for kind, handler in (
        (PEER_ASSIGNED, cog.deliver_assigned),
        (PEER_REVIEWED, cog.deliver_reviewed),
        (PEER_DISCARDED, cog.deliver_discarded),
        (PEER_VERDICTS, cog.deliver_verdicts),
        (PEER_SHORT, cog.deliver_short),
    ):
        bot.outbox.register(kind, handler)
    await bot.add_cog(cog)
