"""`python -m bot health`: ask the running bot's health endpoint, for Docker's HEALTHCHECK and people."""

from __future__ import annotations

import urllib.error
import urllib.request

ASK_WITHIN = 5.0


def ask(port: int, path: str) -> tuple[bool, str]:
    """(healthy, what the bot said or why it could not be asked)."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=ASK_WITHIN) as response:
            return True, response.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode(errors="replace").strip() or f"{path} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        return False, f"no answer from the bot at {url} ({why})"
