"""The words of what the bot tells a learner, a channel or the moderators, from the facts services hand the port."""

from __future__ import annotations

from bot.domain.notices import AwardBlocked, DailyReminder, TierAnnounced, TierEarned, WeeklyReminder, Weeks, Words
from bot.render.reminders import daily_text, weekly_text


def words(said: Words) -> str:
    """The text of `said` (text already worded passes through)."""
    match said:
        case str():
            return said
        case DailyReminder():
            return daily_text(said)
        case WeeklyReminder():
            return weekly_text(said)
        case TierEarned():
            return tier_earned_text(said)
        case TierAnnounced():
            return tier_announced_text(said)
        case AwardBlocked():
            return award_blocked_text(said)
    raise TypeError(f"nothing words {type(said).__name__}")


def weeks_text(weeks: Weeks) -> str:
    """'weeks 1-4', 'week 3', 'weeks 2, 5, 9': the weeks some checkpoints cover."""
    numbers = list(weeks.numbers)
    if not numbers:
        return "nothing"
    if len(numbers) == 1:
        return f"week {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"weeks {numbers[0]}-{numbers[-1]}"
    return "weeks " + ", ".join(str(w) for w in numbers)


def tier_earned_text(earned: TierEarned) -> str:
    onward = ""
    if earned.next_tier is not None:
        name, weeks = earned.next_tier
        onward = f" Next up: **{name}** ({weeks_text(weeks)})."
    return (
        f"Congratulations! You completed **{earned.tier_name}** in '{earned.cohort_name}': every checkpoint of "
        f"{weeks_text(earned.weeks)} is approved, and you now have the <@&{earned.role_id}> role.{onward}"
    )


def tier_announced_text(news: TierAnnounced) -> str:
    return (
        f"🎓 <@{news.user_id}> earned **{news.tier_name}**: every checkpoint of {weeks_text(news.weeks)} of "
        f"{news.roadmap_title} approved. Welcome to <@&{news.role_id}>!"
    )


def award_blocked_text(blocked: AwardBlocked) -> str:
    return (
        f"<@{blocked.user_id}> completed **{blocked.tier_name}** in '{blocked.cohort_name}', but I could not give them "
        f"the role: {blocked.reason} The award is saved: I will give the role as soon as I can (I retry "
        "regularly, and at once when another checkpoint is approved)."
    )
