"""How big a roadmap may be: limits on the file, on what its YAML expands to, and on its parts."""

from __future__ import annotations

MAX_ROADMAP_BYTES = 256 * 1024
"""The file as uploaded."""

MAX_DEPTH = 50
"""Nested mappings and lists, counting what aliases bring in (a real roadmap uses about 6)."""

MAX_EXPANDED_CHARS = 1_000_000
"""Characters of text once every alias is replaced by what it stands for."""

MAX_VALUES = 100_000
"""Values (strings, numbers, keys) once every alias is expanded: bounds files of many empty values."""

MAX_MODULES = 200
MAX_PHASES = 200
MAX_TIERS = 25
MAX_SECTIONS = 50

MAX_POST_MESSAGES = 10
"""Messages one week post may take (one embed each)."""

