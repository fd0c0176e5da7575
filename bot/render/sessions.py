"""Texts about live sessions: one line per session, and what the daily reminder says about today's."""

from __future__ import annotations

from bot.render.messages import stamp
from bot.services.live_sessions import SessionView


def where(view: SessionView) -> str:
    live = view.session
    return f"<#{live.channel_id}>" if live.channel_id else f"at {live.location or f'<#{view.cohort.channel_id}>'}"


def session_line(view: SessionView) -> str:
    live = view.session
    upcoming = (
        f"next {stamp(view.next.start, 'F')} (week {view.next.week})" if view.next else "no meeting ahead"
    )
    return (
        f"**{live.title}** — {view.weekday_name}s {live.start_time:%H:%M} {view.cohort.timezone}, "
        f"{live.minutes} min, {where(view)}; {upcoming}"
    )
