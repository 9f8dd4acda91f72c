"""Comparing two answers to one request, the way Diffy does, plus what Diffy lacks.

- JSON bodies are compared field by field; a field path names lists' items by index
  (``results.0.subject``) and is generalised (``results.*.subject``) for ignore-lists
  and noise.
- Noise: the serving side is asked a second time; fields that differ between its own two
  answers (a timestamp, a random id) are noise for the route and never count (A/A
  calibration).
- Lag is not a mismatch: each side says how far it has read the event stream
  (``X-Blipay-Stream-Position``); two answers that differ while the positions differ are
  ``lagged``.
"""

import fnmatch
import json
import re
from typing import Any

_INDEX = re.compile(r"(?<=\.)\d+(?=\.|$)|^\d+(?=\.|$)")


def parse(body: bytes, content_type: str) -> Any:
    if "json" in (content_type or "").lower():
        try:
            return json.loads(body or b"null")
        except ValueError:
            pass
    return body.decode("utf-8", "replace")


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """The field paths at which ``a`` and ``b`` differ (``""`` for the whole body)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                found.append(child)
            else:
                found.extend(differences(a[key], b[key], child))
        return found
    if isinstance(a, list) and isinstance(b, list):
        found = [f"{path}.{i}" if path else str(i) for i in range(min(len(a), len(b)), max(len(a), len(b)))]
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found.extend(differences(x, y, f"{path}.{i}" if path else str(i)))
        return found
    return [] if a == b and type(a) is type(b) else [path or "(body)"]


def general(path: str) -> str:
    """``results.3.subject`` → ``results.*.subject``."""
    return _INDEX.sub("*", path)


def ignored(path: str, patterns: list[str] | set[str]) -> bool:
    generic = general(path)
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(generic, p) for p in patterns)


def compare(*, status_a: int, body_a: Any, status_b: int, body_b: Any, ignore: list[str] | set[str]) -> list[str]:
    """The differing field paths that count, status first."""
    found = ["(status)"] if status_a != status_b else []
    found += [path for path in differences(body_a, body_b) if not ignored(path, ignore)]
    return found
