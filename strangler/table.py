"""The route table each process keeps in memory: a snapshot reloaded when the table's
version moves. The version is read at most every ``CHECK_SECONDS``, so a change reaches
every process within that time and a request costs no query."""

import re
import threading
import time
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.urls import Resolver404, resolve

from strangler.models import Route, TableVersion

CHECK_SECONDS = 2.0
# One path segment, never "." or "..": a matched path can't climb out of its pattern.
_SEGMENT = r"(?!\.\.?(?:/|$))[^/]+"


def compile_path(pattern: str) -> re.Pattern:
    """``/api/v1/members/{id}/notifications`` → an anchored regex for ``request.path_info``."""
    parts = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", pattern)
    return re.compile("^" + _SEGMENT.join(re.escape(part) for part in parts) + "$")


@dataclass(frozen=True)
class CompiledRoute:
    """A route as the proxy uses it: immutable, so a request keeps one view of it."""

    route: Route
    methods: frozenset[str]
    regex: re.Pattern | None
    url_name: str
    prefix: str = field(default="")

    def matches(self, method: str, path: str) -> bool:
        if method not in self.methods or not path.startswith(self.prefix):
            return False
        if self.regex is not None:
            return self.regex.match(path) is not None
        try:
            return resolve(path).url_name == self.url_name
        except Resolver404:
            return False


def compiled(route: Route) -> CompiledRoute:
    methods = frozenset(m.strip().upper() for m in route.methods.split(",") if m.strip())
    if route.url_name:
        return CompiledRoute(route=route, methods=methods, regex=None, url_name=route.url_name, prefix="/")
    prefix = route.path.split("{", 1)[0]
    return CompiledRoute(route=route, methods=methods, regex=compile_path(route.path), url_name="", prefix=prefix)


class RouteTable:
    def __init__(self) -> None:
        self._routes: tuple[CompiledRoute, ...] = ()
        self._version: str | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def match(self, method: str, path: str) -> CompiledRoute | None:
        if time.monotonic() - self._checked >= CHECK_SECONDS:
            self._refresh()
        for candidate in self._routes:
            if candidate.matches(method, path):
                return candidate
        return None

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is reloading; this request uses the snapshot it has
        try:
            self._checked = time.monotonic()
            version = TableVersion.objects.values_list("version", flat=True).first() or ""
            if version != self._version:
                self._routes = tuple(compiled(route) for route in Route.objects.exclude(mode=Route.MONOLITH))
                self._version = version
        except DatabaseError:
            self._checked = float("-inf")  # e.g. before migrations: try again next request
        finally:
            self._lock.release()

    def forget(self) -> None:
        """Reload at the next request (tests, and the process that made a change)."""
        self._checked = float("-inf")


table = RouteTable()
