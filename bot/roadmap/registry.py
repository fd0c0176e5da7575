"""The bundled roadmaps in `roadmaps/`, loaded once and looked up by id."""

from __future__ import annotations

from pathlib import Path

from bot.errors import RoadmapInvalid
from bot.roadmap.loader import load_roadmap_file
from bot.roadmap.schema import Roadmap

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "roadmaps"


class RoadmapRegistry:
    """Bundled roadmaps by id. Server-imported roadmaps live in the database, not here."""

    def __init__(self, roadmaps: list[Roadmap]) -> None:
        self._by_id: dict[str, Roadmap] = {}
        for roadmap in roadmaps:
            if roadmap.id in self._by_id:
                raise RoadmapInvalid(roadmap.id, ["two bundled roadmaps share this id"])
            self._by_id[roadmap.id] = roadmap

    @classmethod
    def load(cls, directory: Path = BUNDLED_DIR) -> RoadmapRegistry:
        """Load every `*.yaml` in `directory`, reporting all broken files at once."""
        roadmaps: list[Roadmap] = []
        problems: list[str] = []
        for path in bundled_paths(directory):
            try:
                roadmaps.append(load_roadmap_file(path))
            except RoadmapInvalid as exc:
                problems.extend(exc.problems)
        if problems:
            raise RoadmapInvalid(None, problems)
        return cls(roadmaps)

    def get(self, roadmap_id: str) -> Roadmap | None:
        return self._by_id.get(roadmap_id)

    def all(self) -> list[Roadmap]:
        return sorted(self._by_id.values(), key=lambda r: r.id)


def bundled_paths(directory: Path = BUNDLED_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))
