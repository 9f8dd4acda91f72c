"""Shadow traffic: the answer a client got, compared off the request path with what the
other side says to the same request.

Copies wait in a bounded queue for one worker thread per process; a full queue skips the
copy and counts it (never blocks the client, never drops silently). The worker asks the
other side, asks the serving side again (A/A: fields that differ there are noise, as in
Diffy), and records the verdict: ``matched``, ``lagged`` (the sides differ while they have
not read the event stream equally far; a safe request is asked again for a few seconds
before it is called anything else) or ``mismatch`` with the fields that differed.
"""

import io
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from blipay.events.control import POSITION_HEADER, position
from strangler import compare, traffic
from strangler.forward import SAFE_METHODS, MayHaveReached, NotReached, Outgoing, discard, finish, upstream
from strangler.models import Comparison, Noise, Route
from strangler.routes import step_started

logger = logging.getLogger("blipay.strangler")

BYPASS = "blipay.strangler.bypass"  # a WSGI environ key: no client can set one
RECHECKS = 6
RECHECK_SECONDS = 0.5


@dataclass(frozen=True)
class Answer:
    status: int
    body: object
    position: str


@dataclass(frozen=True)
class Copy:
    """A request as the shadow worker replays it, and the answer the client got."""

    route: Route
    request: Outgoing
    served: str = ""
    answer: Answer | None = None

    @property
    def since(self) -> datetime:
        return step_started(self.route)

    def answered(self, side: str, status: int, body: bytes, content_type: str, stream_position: str) -> "Copy":
        return replace(self, served=side, answer=Answer(status, compare.parse(body, content_type), stream_position))


def module_position(route: Route) -> str:
    """How far this monolith's copy of the route's module has read the event stream."""
    modules = settings.SERVICE_MODULES.get(route.service, [])
    held = position(modules) if modules else None
    return held.isoformat() if held else ""


_queue: queue.Queue | None = None
_worker: threading.Thread | None = None
_lock = threading.Lock()


def submit(copy: Copy) -> None:
    global _queue, _worker
    with _lock:
        if _queue is None:
            _queue = queue.Queue(maxsize=settings.BLIPAY_STRANGLER["SHADOW_QUEUE"])
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, args=(_queue,), name="strangler-shadow", daemon=True)
            _worker.start()
    try:
        _queue.put_nowait(copy)
    except queue.Full:
        traffic.count(copy.route.name, copy.served, copy.since, shadow_skipped=1)


def drain(timeout: float = 30.0) -> None:
    """Wait until every submitted copy is judged (tests, and a clean shutdown)."""
    deadline = time.monotonic() + timeout
    while _queue is not None and _queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.02)


def _work(copies: queue.Queue) -> None:
    while True:
        copy = copies.get()
        try:
            judge(copy)
        except Exception:
            logger.exception("shadow comparison of %s %s failed", copy.request.method, copy.request.path)
        finally:
            # Copies come and go: the worker doesn't keep a database connection between them.
            connection.close()
            copies.task_done()


def judge(copy: Copy) -> str:
    """Compare ``copy``'s answer with the other side's; record and return the verdict."""
    route, request, served = copy.route, copy.request, copy.answer
    other = Route.SERVICE if copy.served == Route.MONOLITH else Route.MONOLITH
    theirs = ask(copy, other)
    if theirs is None:
        return "unanswered"
    safe = request.method in SAFE_METHODS
    if safe:  # A/A: what differs between two answers of the serving side is noise
        again = ask(copy, copy.served)
        if again is not None:
            for field in {compare.general(p) for p in compare.differences(served.body, again.body)}:
                Noise.objects.get_or_create(route=route.name, field=field)
    ignore = set(route.ignore) | set(Noise.objects.filter(route=route.name).values_list("field", flat=True))
    fields = _differing(served, theirs, ignore)
    verdict = "matched"
    if fields:
        verdict = Comparison.LAGGED if _lagging(served, theirs) else Comparison.MISMATCH
        for _ in range(RECHECKS if safe and verdict == Comparison.MISMATCH else 0):
            # Equal positions can hide lag inside one event's consequences (a copy that
            # arrives with the next event): ask both again while the stream moves on.
            time.sleep(RECHECK_SECONDS)
            mine, theirs = ask(copy, copy.served), ask(copy, other)
            if mine is None or theirs is None:
                break
            if not _differing(mine, theirs, ignore):
                verdict = Comparison.LAGGED
                break
    counter = {"matched": "matched", Comparison.LAGGED: "lagged", Comparison.MISMATCH: "mismatched"}[verdict]
    traffic.count(route.name, copy.served, copy.since, compared=1, **{counter: 1})
    if verdict != "matched":
        Comparison.objects.create(
            route=route.name,
            verdict=verdict,
            method=request.method,
            path=f"{request.path}?{request.query}" if request.query else request.path,
            fields=fields[:50],
            served_by=copy.served,
            request_id=request.request_id,
        )
    return verdict


def _differing(a: Answer, b: Answer, ignore: set[str]) -> list[str]:
    return compare.compare(status_a=a.status, body_a=a.body, status_b=b.status, body_b=b.body, ignore=ignore)


def _lagging(a: Answer, b: Answer) -> bool:
    return bool(a.position or b.position) and a.position != b.position


def ask(copy: Copy, side: str) -> Answer | None:
    return _ask_monolith(copy) if side == Route.MONOLITH else _ask_service(copy)


def _ask_service(copy: Copy) -> Answer | None:
    up = upstream(copy.route.service)
    try:
        answer = copy.request.send(up, connect=copy.route.connect_timeout, read=copy.route.read_timeout)
    except (NotReached, MayHaveReached):
        return None
    try:
        body = answer.read(decode_content=True)
    except Exception:  # noqa: BLE001 - a broken answer is no answer
        discard(up, answer)
        return None
    finish(up, answer)
    content_type = answer.headers.get("Content-Type", "")
    return Answer(answer.status, compare.parse(body, content_type), answer.headers.get(POSITION_HEADER, ""))


_handler: WSGIHandler | None = None


def _ask_monolith(copy: Copy) -> Answer:
    """The monolith's own answer, from this process: the strangler lets it through."""
    global _handler
    if _handler is None:
        _handler = WSGIHandler()
    request = copy.request
    host, _, port = request.host.partition(":")
    environ = {
        **request.meta,
        "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": request.query,
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": host,
        "SERVER_PORT": port or ("443" if request.scheme == "https" else "80"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_X_REQUEST_ID": request.request_id,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.url_scheme": request.scheme,
        "wsgi.errors": io.StringIO(),
        BYPASS: True,
    }
    response = _handler(environ, lambda status, headers, exc_info=None: None)
    try:
        body = b"".join(response)
    finally:
        response.close()
    return Answer(
        response.status_code, compare.parse(body, response.get("Content-Type", "")), module_position(copy.route)
    )
