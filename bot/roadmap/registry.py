"""The bundled roadmaps in `roadmaps/`, loaded once and looked up by id."""

from __future__ import annotations

from pathlib import Path

from bot.errors import RoadmapInvalid
from bot.roadmap.loader import load_roadmap_text
from bot.roadmap.schema import Roadmap

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "roadmaps"


class RoadmapRegistry:
    """Bundled roadmaps by id, with the YAML text each came from (cohorts snapshot that text)."""

    def __init__(self, sources: list[tuple[Roadmap, str]]) -> None:
        self._by_id: dict[str, tuple[Roadmap, str]] = {}
        for roadmap, text in sources:
            if roadmap.id in self._by_id:
                raise RoadmapInvalid(roadmap.id, ["two bundled roadmaps share this id"])
            self._by_id[roadmap.id] = (roadmap, text)

    @classmethod
    def load(cls, directory: Path = BUNDLED_DIR) -> RoadmapRegistry:
        """Load every `*.yaml` in `directory`, reporting all broken files at once."""
        sources: list[tuple[Roadmap, str]] = []
        problems: list[str] = []
        for path in bundled_paths(directory):
            text = path.read_text(encoding="utf-8")
            try:
                sources.append((load_roadmap_text(text, str(path)), text))
            except RoadmapInvalid as exc:
                problems.extend(exc.problems)
        if problems:
            raise RoadmapInvalid(None, problems)
        return cls(sources)

    def get(self, roadmap_id: str) -> Roadmap | None:
        found = self._by_id.get(roadmap_id)
        return found[0] if found else None

    def source_text(self, roadmap_id: str) -> str:
        return self._by_id[roadmap_id][1]

    def all(self) -> list[Roadmap]:
        return sorted((roadmap for roadmap, _ in self._by_id.values()), key=lambda r: r.id)


def bundled_paths(directory: Path = BUNDLED_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))
