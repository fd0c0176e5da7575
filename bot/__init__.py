"""Cohort study-group Discord bot: core package."""
