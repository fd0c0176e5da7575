"""Roadmaps: the schema of a study plan, the YAML loader and the bundled registry."""

from bot.roadmap.loader import load_roadmap_bytes, load_roadmap_file, load_roadmap_text
from bot.roadmap.registry import BUNDLED_DIR, RoadmapRegistry
from bot.roadmap.schema import Checkpoint, Hours, Material, Module, Phase, Roadmap, Tier, WeekRange

__all__ = [
    "BUNDLED_DIR",
    "Checkpoint",
    "Hours",
    "Material",
    "Module",
    "Phase",
    "Roadmap",
    "RoadmapRegistry",
    "Tier",
    "WeekRange",
    "load_roadmap_bytes",
    "load_roadmap_file",
    "load_roadmap_text",
]
