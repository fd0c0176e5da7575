"""Discord glue for certification roles: find or create a tier's role, give it, and say exactly what blocks it.

Also what /cohort create says about the roadmap's tier roles (refused when a role named like a tier
carries power, warned when the bot could not give it) and the tier autocomplete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands

from bot.checks import cohort_bot
from bot.errors import InvalidInput
from bot.roadmap import Roadmap
from bot.role_check import grant_time_problem, invoker_cannot_give, unsafe_role
from bot.services.ports import DeliveryFailed, RoleRequest

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011


class RoleGranter:
    """The role half of the Discord port (BotDiscordPort delegates here)."""

    def __init__(self, bot: CohortBot) -> None:
        self._bot = bot
        self._created: dict[tuple[int, str], int] = {}
        """(guild, name) → id of roles created here, until the gateway's ROLE_CREATE has reached the cache."""

    async def resolve(self, request: RoleRequest) -> int:
        guild = self._bot.get_guild(request.guild_id)
        if guild is None:
            raise DeliveryFailed("I can't see that server right now (it may be unavailable).", retryable=True)
        if request.role_id is not None:
            if guild.get_role(request.role_id) is not None or request.role_id in self._created.values():
                return request.role_id
            if request.name is None:
                # Not in the cache: ask Discord before calling a moderator's choice gone.
                if any(role.id == request.role_id for role in await self._fetch_roles(guild)):
                    return request.role_id
                raise DeliveryFailed(
                    f"the role chosen for this tier with /cohort tier-role (id {request.role_id}) no longer exists. "
                    "Choose another one with /cohort tier-role.",
                    retryable=False,
                )
        assert request.name is not None
        named = [role for role in guild.roles if role.name == request.name]
        if named:
            # Several roles may share a name: prefer one I am able to give.
            top = guild.me.top_role
            givable = [role for role in named if role < top and unsafe_role(role) is None]
            return max(givable or named).id
        key = (guild.id, request.name)
        if key in self._created:
            return self._created[key]
        try:
            role = await guild.create_role(
                name=request.name,
                colour=discord.Colour(request.color),
                permissions=discord.Permissions.none(),
                mentionable=False,
                reason=request.reason,
            )
        except discord.Forbidden as exc:
            my_role = guild.me.top_role.name
            raise DeliveryFailed(
                f"I could not create the role '{request.name}' because I lack the Manage Roles permission. "
                f"In Server Settings → Roles → {my_role}, turn on Manage Roles (or create '{request.name}' "
                f"yourself, below {my_role}).",
                retryable=False,
            ) from exc
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not create the role '{request.name}' ({_reason(exc)}).",
                                 retryable=True) from exc
        self._created[key] = role.id
        return role.id

    @staticmethod
    async def _fetch_roles(guild: discord.Guild) -> list[discord.Role]:
        try:
            return await guild.fetch_roles()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not list the server's roles ({_reason(exc)}).", retryable=True) from exc

    async def add(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        guild = self._bot.get_guild(guild_id)
        problem = grant_time_problem(guild, role_id) if guild is not None else None
        if problem is not None:
            raise DeliveryFailed(problem, retryable=False)
        try:
            await self._bot.http.add_role(guild_id, user_id, role_id, reason=reason)
        except discord.Forbidden as exc:
            raise DeliveryFailed(await self._why_refused(guild_id, role_id, exc), retryable=False) from exc
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_ROLE:
                self._created = {k: v for k, v in self._created.items() if v != role_id}
                raise DeliveryFailed("the role was deleted.", retryable=True) from exc
            raise DeliveryFailed(
                f"<@{user_id}> is no longer a member of the server ({_reason(exc)}).", retryable=False
            ) from exc
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not accept it ({_reason(exc)}).", retryable=True) from exc

    async def _why_refused(self, guild_id: int, role_id: int, exc: discord.HTTPException) -> str:
        """What exactly a moderator must change, from fresh role positions when Discord gives them."""
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return f"Discord refused it ({_reason(exc)})."
        try:
            roles = {role.id: role for role in await guild.fetch_roles()}
        except discord.HTTPException:
            roles = {role.id: role for role in guild.roles}
        mine = [roles.get(role.id, role) for role in guild.me.roles]
        top = max(mine, key=lambda role: (role.position, role.id))
        can_manage = guild.owner_id == guild.me.id or any(
            role.permissions.manage_roles or role.permissions.administrator for role in mine
        )
        target = roles.get(role_id)
        if not can_manage:
            return f"I lack the Manage Roles permission. In Server Settings → Roles → {top.name}, turn on Manage Roles."
        if target is not None and target.managed:
            return (
                f"the role '{target.name}' is managed by an integration, so nobody can give it. "
                "Choose another role with /cohort tier-role."
            )
        if target is not None and target.position >= top.position:
            return (
                f"the role '{target.name}' is not below my highest role '{top.name}'. In Server Settings → Roles, "
                f"drag '{top.name}' above '{target.name}' (or move '{target.name}' below '{top.name}')."
            )
        return f"Discord refused it ({_reason(exc)}). Check that my role '{top.name}' has Manage Roles."


def tier_role_warnings(guild: discord.Guild, roadmap: Roadmap) -> list[str]:
    """Why tier roles of `roadmap` could not be given on this server (for /cohort create: warn, don't refuse)."""
    if not roadmap.tiers:
        return []
    me = guild.me
    warnings = []
    if not me.guild_permissions.manage_roles:
        warnings.append(
            "I lack the Manage Roles permission, so I can't give the certification roles of this roadmap. "
            f"Turn it on for my role {me.top_role.mention}."
        )
    names = {tier.role for tier in roadmap.tiers}
    above = sorted((r for r in guild.roles if r.name in names and r >= me.top_role), key=lambda r: -r.position)
    if above:
        listed = ", ".join(role.mention for role in above)
        verb = "is" if len(above) == 1 else "are"
        warnings.append(
            f"Tier role {listed} {verb} above my highest role {me.top_role.mention}, so I can't give "
            f"{'it' if len(above) == 1 else 'them'} when learners complete a tier. In Server Settings → Roles, "
            f"drag {me.top_role.mention} above {listed}."
        )
    return warnings


def check_named_tier_roles(guild: discord.Guild, names: Iterable[str], invoker: discord.Member) -> None:
    """/cohort create: existing roles named like the roadmap's tiers go through the same rule as a chosen role."""
    wanted = set(names)
    for role in sorted((r for r in guild.roles if r.name in wanted), key=lambda r: -r.position):
        # A role above mine only gets a warning: whoever later moves my role above it decides to hand it out.
        above_me = role >= guild.me.top_role
        problem = unsafe_role(role) or (None if above_me else invoker_cannot_give(guild, role, invoker))
        if problem is not None:
            raise InvalidInput(f"A tier of this roadmap would give the existing role named '{role.name}'. {problem}")


async def tier_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The tiers of the cohort named in the same command."""
    bot = cohort_bot(interaction)
    cohort = getattr(interaction.namespace, "cohort", None)
    if interaction.guild_id is None or not cohort:
        return []
    needle = current.casefold()
    return [
        app_commands.Choice(name=f"{tier.name} ({tier.key})"[:100], value=tier.key)
        for tier in await bot.tiers.tiers_of(interaction.guild_id, str(cohort))
        if needle in tier.key or needle in tier.name.casefold()
    ][:25]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}, code {exc.code}: {exc.text or 'no detail'}"
    return type(exc).__name__
