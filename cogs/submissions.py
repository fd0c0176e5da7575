"""/submit, the review buttons (persistent across restarts), the feedback form and /review queue."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.answer_soon import answer_soon
from bot.checks import cohort_autocomplete, cohort_bot, for_moderators, known_guild, moderator_only, require_moderator
from bot.db.models import ReviewDecision
from bot.discord_port import guard
from bot.errors import AlreadyDecided, InvalidInput, Unavailable
from bot.interaction_errors import ErrorHandlingModal, report_interaction_error
from bot.render import limits
from bot.render.messages import stamp
from bot.render.review import REMOVED_BY_LEARNER, decision_notice, review_embed, superseded_embed
from bot.services.outbox import OutboxItem
from bot.services.ports import DeliveryFailed
from bot.services.submissions import (
    DECISION_NOTICE,
    REVIEW_MESSAGE,
    AttachmentInfo,
    Decision,
    SubmissionCard,
    SubmissionRequest,
)

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)


class SubmitModal(ErrorHandlingModal, title="Submit your checkpoint"):
    link: discord.ui.TextInput = discord.ui.TextInput(
        label="Link to your work", placeholder="https://github.com/you/project", max_length=2048
    )
    notes: discord.ui.TextInput = discord.ui.TextInput(
        label="Notes for the reviewer", style=discord.TextStyle.paragraph, required=False, max_length=1000
    )

    def __init__(self, cog: SubmissionCommands, cohort: str, week: int) -> None:
        super().__init__()
        self._cog = cog
        self._cohort = cohort
        self._week = week

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._cog.accept(interaction, self._cohort, self._week, self.link.value, self.notes.value)


REVIEW_ID = r"review:(?P<action>ok|fix):(?P<sid>\d+):(?P<ver>\d+)"


class ReviewButton(discord.ui.DynamicItem[discord.ui.Button], template=REVIEW_ID):
    """Approve / Request changes. The custom id carries the submission and version, so it survives restarts."""

    def __init__(self, action: str, submission_id: int, version: int) -> None:
        approve = action == "ok"
        super().__init__(
            discord.ui.Button(
                label="Approve" if approve else "Request changes",
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.secondary,
                custom_id=f"review:{action}:{submission_id}:{version}",
            )
        )
        self.action = action
        self.submission_id = submission_id
        self.version = version

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReviewButton:
        return cls(match["action"], int(match["sid"]), int(match["ver"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        # discord.py swallows errors raised by dynamic items, so they go through our error path here.
        try:
            await require_moderator(interaction)
            cog = cohort_bot(interaction).get_cog("SubmissionCommands")
            assert isinstance(cog, SubmissionCommands)  # loaded with this button in setup()
            if self.action == "ok":
                await cog.decide(interaction, self.submission_id, self.version, ReviewDecision.APPROVED, None)
            else:
                await interaction.response.send_modal(FeedbackModal(cog, self.submission_id, self.version))
        except Exception as exc:  # every failure, expected or not, gets the one error path
            await report_interaction_error(interaction, exc)


class FeedbackModal(ErrorHandlingModal, title="Request changes"):
    feedback: discord.ui.TextInput = discord.ui.TextInput(
        label="What should the learner change?", style=discord.TextStyle.paragraph, max_length=1000
    )

    def __init__(self, cog: SubmissionCommands, submission_id: int, version: int) -> None:
        super().__init__()
        self._cog = cog
        self._submission_id = submission_id
        self._version = version

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._cog.decide(
            interaction, self._submission_id, self._version, ReviewDecision.CHANGES_REQUESTED, self.feedback.value
        )


def review_view(card: SubmissionCard, *, decided: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("ok", "fix"):
        button = ReviewButton(action, card.submission_id, card.version)
        button.item.disabled = decided
        view.add_item(button)
    return view


class SubmissionCommands(commands.Cog):
    answer_within = 1.0
    """Seconds a decision or a link's submission may take before it is acknowledged first (see `answer_soon`)."""

    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot
        self._fresh: dict[str, bytes] = {}
        """Submitted files fetched by /submit, by URL, until their review message's first attempt is over (never
        stored: the outbox keeps the URL)."""

    @app_commands.command(name="submit", description="Submit your checkpoint project for a week")
    @app_commands.describe(
        week="The week (default: the current one)",
        link="A link to your work (http or https)",
        notes="Anything the reviewer should know (up to 1,000 characters)",
        file="A file instead of (or as well as) a link",
        cohort="The cohort (may be left out when you are in one)",
    )
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def submit(
        self,
        interaction: discord.Interaction,
        week: app_commands.Range[int, 1, 520] | None = None,
        link: str | None = None,
        notes: str | None = None,
        file: discord.Attachment | None = None,
        cohort: str | None = None,
    ) -> None:
        guild = known_guild(interaction)
        if link is None and file is None:
            view = await self.bot.submissions.target(guild.id, interaction.user.id, cohort, week)
            module_week = week or view.current_week
            await interaction.response.send_modal(SubmitModal(self, view.name, module_week))
            return
        if file is not None and file.size > guild.filesize_limit:
            raise InvalidInput(_too_big(file.filename, file.size, guild.filesize_limit))
        await self.accept(interaction, cohort, week, link, notes, file)

    async def accept(
        self,
        interaction: discord.Interaction,
        cohort: str | None,
        week: int | None,
        link: str | None,
        notes: str | None,
        file: discord.Attachment | None = None,
    ) -> None:
        guild = known_guild(interaction)
        acknowledge = functools.partial(_acknowledge, interaction)
        if file is not None:
            await acknowledge()  # fetching the file takes round trips
            # Refuse a non-member or an unopened week before spending a download on their file.
            await self.bot.submissions.target(guild.id, interaction.user.id, cohort, week)
            # Fetched at once (Discord deletes the learner's ephemeral upload); the review message, sent
            # right after the commit, takes these bytes instead of fetching them again.
            self._fresh[file.url] = await _fetch(file, guild.filesize_limit)
        attachment = AttachmentInfo(file.url, file.filename, file.size, file.content_type) if file else None
        try:
            card = await answer_soon(
                self.bot.submissions.submit(
                    SubmissionRequest(guild.id, interaction.user.id, cohort, week, link, notes, attachment)
                ),
                acknowledge,
                self.answer_within,
            )
        except BaseException:
            if file is not None:
                self._fresh.pop(file.url, None)
            raise
        # Answer without waiting for the review message: the review channel's pace may hold it for seconds.
        # The fetched bytes stay for its first attempt (as long as `deliver` would wait); a later one fetches again.
        forget = functools.partial(self._fresh.pop, file.url, None) if file is not None else None
        self.bot.outbox.deliver_soon(card.owed, key=interaction.id, then=forget)
        timing = "**late** (accepted, and marked late)" if card.late else "on time"
        due = f" It was due {stamp(card.deadline)}." if card.deadline else ""
        text = f"Submitted your {card.module.label.lower()} checkpoint (version {card.version}), {timing}.{due}"
        text += " A moderator will review it."
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    async def deliver_review_message(self, item: OutboxItem) -> None:
        """Outbox handler: post one version to the review channel, once, with its file, and retire the one
        it replaces."""
        card = await self.bot.submissions.card(item.payload["submission_id"], item.payload["version"])
        if card is None or card.superseded or card.review_message_id is not None:
            return  # erased, replaced before it was posted, or posted by an attempt cut off before it finished
        embed = review_embed(card)
        message = None
        if item.attempts > 1:
            message = await self.bot.port.find_own_message(card.review_channel_id, embed.footer.text or "")
        if message is None:
            # The review message carries the file itself, so it outlives the learner's ephemeral upload.
            files = await self._files(item.payload.get("attachment"))
            channel = self.bot.get_partial_messageable(card.review_channel_id)
            message = await guard(
                lambda: channel.send(embed=embed, view=review_view(card), files=files, nonce=item.nonce)
            )
        kept_at = message.attachments[0].url if message.attachments else None
        still_there = await self.bot.submissions.record_review_message(
            card.submission_id, card.version, card.review_channel_id, message.id, attachment_url=kept_at
        )
        if not still_there:
            # The learner erased their data while this was being posted.
            with contextlib.suppress(discord.HTTPException):
                await message.edit(content=REMOVED_BY_LEARNER, embed=None, view=None, attachments=[])
            return
        if item.payload["previous"]:
            await self._mark_superseded(*item.payload["previous"], version=card.version)

    async def _files(self, attachment: dict[str, Any] | None) -> list[discord.File]:
        """The submitted file to re-upload: the bytes /submit just fetched, else fetched again from Discord."""
        if attachment is None:
            return []
        data = self._fresh.get(attachment["url"])
        if data is None:
            try:
                data = await self.bot.http.get_from_cdn(attachment["url"])
            except (discord.NotFound, discord.Forbidden) as exc:
                # Discord deleted the learner's upload before a retry got to it: post without it.
                log.warning("submitted file %s is gone from Discord: %s", attachment["name"], exc)
                return []
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                reason = f"could not fetch the submitted file ({type(exc).__name__})"
                raise DeliveryFailed(reason, retryable=True) from exc
        return [discord.File(io.BytesIO(data), filename=attachment["name"])]

    async def _mark_superseded(self, channel_id: int, message_id: int, *, version: int) -> None:
        channel = self.bot.get_partial_messageable(channel_id)
        try:
            old = await channel.fetch_message(message_id)
            embed = superseded_embed(old.embeds[0], version) if old.embeds else None
            await old.edit(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.warning("could not mark review message %s as replaced: %s", message_id, exc)

    async def decide(
        self,
        interaction: discord.Interaction,
        submission_id: int,
        version: int,
        decision: ReviewDecision,
        feedback: str | None,
    ) -> None:
        guild = known_guild(interaction)
        deciding = self.bot.submissions.decide(
            guild.id, submission_id, version, interaction.user.id, decision, feedback
        )
        try:
            # Answered with the edited message in one request, unless the decision is slow.
            result = await answer_soon(deciding, interaction.response.defer, self.answer_within)
        except AlreadyDecided as refusal:
            await self._show_standing_decision(interaction, refusal.review_id)
            raise

        # Committed with the decision: the learner hears of it and the tiers are checked even if the edit fails.
        self.bot.outbox.deliver_soon(result.owed, key=interaction.id)
        await _show_on_message(interaction, result)

    async def _show_standing_decision(self, interaction: discord.Interaction, review_id: int) -> None:
        """The buttons were still live (the edit after the decision failed): show the decision that stands."""
        standing = await self.bot.submissions.decision(review_id)
        if standing is None:
            return
        # The refusal is said either way (after this, or as the answer when it fails); a message Discord will not
        # edit now stays as it was until the next click.
        with contextlib.suppress(discord.HTTPException):
            await _show_on_message(interaction, standing)

    async def deliver_decision_notice(self, item: OutboxItem) -> None:
        """Outbox handler: tell the learner about a decision (DM, else the cohort channel)."""
        result = await self.bot.submissions.decision(item.payload["review_id"])
        if result is None:
            return  # erased meanwhile
        card = result.card
        await self.bot.notifier.notify(
            result.guild_id, card.user_id, card.cohort_channel_id, decision_notice(result), nonce=item.nonce
        )

    review = app_commands.Group(
        name="review",
        description="Review checkpoint submissions (moderators)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @review.command(name="queue", description="List pending submissions, oldest first")
    @app_commands.describe(cohort="Only this cohort (default: all of this server's)")
    @app_commands.autocomplete(cohort=for_moderators(cohort_autocomplete))
    @moderator_only
    async def queue(self, interaction: discord.Interaction, cohort: str | None = None) -> None:
        guild = known_guild(interaction)
        items = await self.bot.submissions.queue(guild.id, cohort)
        if not items:
            await interaction.response.send_message("No submissions are waiting for review.", ephemeral=True)
            return
        lines = []
        for item in items:
            where = (
                f"https://discord.com/channels/{guild.id}/{item.review_channel_id}/{item.review_message_id}"
                if item.review_message_id
                else "(its review message is not posted yet; check my access to the review channel)"
            )
            late = " · late" if item.late else ""
            lines.append(
                f"• **{item.cohort_name}** week {item.week} · <@{item.user_id}> · v{item.version} · "
                f"{stamp(item.submitted_at, 'R')}{late} — {where}"
            )
        chunks = limits.split_lines([f"{len(items)} waiting, oldest first:", *lines], limits.MESSAGE_CONTENT)
        await interaction.response.send_message(chunks[0], ephemeral=True)
        for chunk in chunks[1:]:
            with contextlib.suppress(discord.HTTPException):
                await interaction.followup.send(chunk, ephemeral=True)


def _too_big(name: str, size: int, limit: int) -> str:
    return (
        f"{name} is {size / 1_048_576:.1f} MB; in this server I can keep files up to {limit / 1_048_576:.0f} MB "
        "with the review message. Share a link to it instead, or send a smaller file."
    )


async def _fetch(file: discord.Attachment, limit: int) -> bytes:
    """The file's bytes, refused when Discord won't hand them over or they exceed what the server accepts."""
    try:
        data = await file.read()
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not download submitted file %s: %s", file.filename, exc)
        raise Unavailable(
            f"I couldn't fetch {file.filename} from Discord, so nothing was submitted. Attach it again and resubmit."
        ) from exc
    if len(data) > limit:
        raise InvalidInput(_too_big(file.filename, len(data), limit))
    return data


async def _acknowledge(interaction: discord.Interaction) -> None:
    """Answered later, privately (the learner sees "thinking…"); once only."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


async def _show_on_message(interaction: discord.Interaction, decided: Decision) -> None:
    """The review message with its decision and the buttons gone: the click's answer, or an edit after it."""
    embed, view = review_embed(decided.card, decided), review_view(decided.card, decided=True)
    if interaction.response.is_done():
        await interaction.edit_original_response(embed=embed, view=view)
    else:
        await interaction.response.edit_message(embed=embed, view=view)


async def setup(bot: CohortBot) -> None:
    bot.add_dynamic_items(ReviewButton)
    cog = SubmissionCommands(bot)
    bot.outbox.register(REVIEW_MESSAGE, cog.deliver_review_message)
    bot.outbox.register(DECISION_NOTICE, cog.deliver_decision_notice)
    await bot.add_cog(cog)
