"""The demo plays its cohort end to end and reports success (it is the README's first command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_runs_the_real_bot_and_posts_each_week_once() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Week 1 of 'Spring 2026' is open." in result.stdout
    assert "Posted late" in result.stdout
    assert "Demo finished: 4 weeks posted, 0 duplicates, 4 discussion threads" in result.stdout
    assert "🎓 @ada earned ML/AI Foundations" in result.stdout
    assert "Congratulations! You completed ML/AI Foundations in 'Spring 2026'" in result.stdout
    assert "ada's roles on the server now: @Spring Cohort, @ML/AI Foundations" in result.stdout
    assert "First tier: ada earned the ML/AI Foundations role." in result.stdout
    assert "in a DM to ada:\n     ⏰ Daily reminder for Spring 2026" in result.stdout
    assert "Traceback" not in result.stderr
