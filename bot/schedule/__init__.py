"""Scheduling: the pure planner and the APScheduler runner that acts on it."""
