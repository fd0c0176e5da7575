"""Smoke: create a cohort, join it, and see week 1 posted at its moment."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Sandbox


async def test_create_join_and_first_post(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock):
    reply = await sandbox.slash(
        "cohort create", name="Spring", roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel}, review_channel=server.review_channel,
    )
    assert reply.ephemeral, reply.content
    assert "Created **Spring**" in reply.content
    joined = await sandbox.slash("join", user=server.learners[0])
    assert "Welcome" in joined.content
    clock.advance(timedelta(hours=1))
    await bot.bot.runner.run_due()
    posts = sandbox.messages_in(server.cohort_channel)
    assert len(posts) == 1
    assert "Week 1" in posts[0].content
