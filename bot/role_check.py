"""The one rule for roles the bot hands out (no power, below the bot, nothing the moderator couldn't give by hand),
when a role is chosen, when a roadmap names tier roles, and again just before each grant."""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.errors import InvalidInput
from bot.roadmap import Roadmap

POWERS = {
    "administrator": "Administrator",
    "manage_guild": "Manage Server",
    "manage_roles": "Manage Roles",
    "manage_channels": "Manage Channels",
    "kick_members": "Kick Members",
    "ban_members": "Ban Members",
    "moderate_members": "Moderate Members",
    "manage_messages": "Manage Messages",
    "mention_everyone": "Mention Everyone",
    "manage_webhooks": "Manage Webhooks",
    "manage_nicknames": "Manage Nicknames",
    "manage_threads": "Manage Threads",
    "manage_expressions": "Manage Expressions",
    "manage_events": "Manage Events",
    "view_audit_log": "View Audit Log",
    "view_guild_insights": "View Server Insights",
    "mute_members": "Mute Members",
    "deafen_members": "Deafen Members",
    "move_members": "Move Members",
    "priority_speaker": "Priority Speaker",
}
"""Permissions a role given by the bot must not carry: each lets its holder act on other people or the server."""


def powers_of(permissions: discord.Permissions) -> list[str]:
    """The names of the elevated permissions in `permissions`, as Discord's role settings show them."""
    return [label for flag, label in POWERS.items() if getattr(permissions, flag)]


def unsafe_role(role: discord.Role) -> str | None:
    """Why no bot should give `role` to anyone (it carries power, or nobody can give it); None when it is plain."""
    if role.is_default() or role.managed:
        return f"{role.mention} can't be given out by a bot; pick or create an ordinary role."
    powers = powers_of(role.permissions)
    if powers:
        them = "it" if len(powers) == 1 else "them"
        return (
            f"{role.mention} carries {', '.join(powers)}, and I never hand out a role with power. "
            f"Turn {them} off in Server Settings → Roles → {role.name}, or pick a role without them."
        )
    return None


def bot_cannot_give(guild: discord.Guild, role: discord.Role) -> str | None:
    """Why Discord would refuse the bot giving `role` (Manage Roles, hierarchy); None when it can."""
    me = guild.me
    if not me.guild_permissions.manage_roles:
        return "I need the Manage Roles permission to give roles. Grant it and try again."
    if role >= me.top_role:
        return (
            f"{role.mention} is above my highest role, so I can't give it. "
            "Move my role above it in Server Settings → Roles and try again."
        )
    return None


def invoker_cannot_give(guild: discord.Guild, role: discord.Role, invoker: discord.Member) -> str | None:
    """Discord's rule for people: Manage Roles, and only roles below one's own highest (owner and admins excepted)."""
    if invoker.id == guild.owner_id or invoker.guild_permissions.administrator:
        return None
    if not invoker.guild_permissions.manage_roles:
        return (
            "Choosing a role the bot gives out needs the Manage Roles permission, which you don't have. "
            "Ask someone who has it to do this."
        )
    if role >= invoker.top_role:
        return (
            f"{role.mention} is not below your highest role {invoker.top_role.mention}, so you couldn't give it "
            "by hand and I won't give it for you. Pick a lower role, or ask someone above it."
        )
    return None


def check_role_to_give(guild: discord.Guild, role: discord.Role, invoker: discord.Member) -> None:
    """Refuse (InvalidInput) a role a moderator asks the bot to give out: every entry point calls this."""
    problem = unsafe_role(role) or bot_cannot_give(guild, role) or invoker_cannot_give(guild, role, invoker)
    if problem is not None:
        raise InvalidInput(problem)


def grant_time_problem(guild: discord.Guild, role_id: int) -> str | None:
    """Checked again just before a grant, since roles change after they were chosen; None when it may go ahead."""
    role = guild.get_role(role_id)
    if role is None:
        return None  # unknown here: Discord's own answer will say what is wrong
    if role.is_default() or role.managed:
        return f"the role '{role.name}' can't be given out by a bot. Choose an ordinary role with /cohort tier-role."
    powers = powers_of(role.permissions)
    if powers:
        return (
            f"the role '{role.name}' now carries {', '.join(powers)}, and I never hand out a role with power. "
            f"In Server Settings → Roles → {role.name}, turn {'it' if len(powers) == 1 else 'them'} off "
            "(or choose another role)."
        )
    return None


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
