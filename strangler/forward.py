"""Forwarding one request to an extracted service, and its answer back to the client.

What goes wrong in proxies (django-revproxy's and Envoy's trackers) is handled here:
- one pooled urllib3 client per upstream, with no cookie jar (nothing of one caller's
  leaks into another's request), and connect and read timeouts that are never undefined;
- hop-by-hop headers stripped both ways, including those a ``Connection`` or
  ``Proxy-Connection`` header names;
- the query string passed byte for byte, repeated response headers kept (each
  ``Set-Cookie`` as the service wrote it), the body streamed back as sent: a gzip answer
  stays gzip, with its own ``Content-Length``;
- ``X-Forwarded-For`` appended (a client's own copy kept only behind a trusted hop),
  ``X-Forwarded-Proto``/``Host`` set, ``X-Request-ID`` and ``traceparent`` passed on,
  ``Authorization`` replaced by the signed identity (the service holds no credential);
- ``Location`` rewritten to the public origin when it points at the service.

The request body is read whole before sending: the identity signs its hash, and a
fallback or a shadow copy needs it again. Django's upload limit bounds it.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import CookieError, Morsel
from urllib.parse import quote, urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from blipay.identity.internal import HEADER as IDENTITY_HEADER
from blipay.identity.internal import Caller, sign

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the proxy itself, never taken from the client as they are.
_REBUILT = frozenset(
    {"host", "authorization", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-request-id"}
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STREAM_CHUNK = 64 * 1024


class NotReached(Exception):
    """The request provably never reached the service: any method may fall back."""


class MayHaveReached(Exception):
    """The service may have received the request (read timeout, a connection lost after
    sending): only a safe method may fall back."""


@dataclass
class Upstream:
    name: str
    origin: str
    pool: urllib3.HTTPConnectionPool
    slots: threading.BoundedSemaphore

    @property
    def netloc(self) -> str:
        return urlsplit(self.origin).netloc


_upstreams: dict[tuple[str, str], Upstream] = {}
_upstreams_lock = threading.Lock()


def upstream(name: str) -> Upstream:
    """The upstream named ``name`` in BLIPAY_SERVICES. Only those can be called: nothing
    in a request names a host."""
    origin = settings.BLIPAY_SERVICES[name]
    key = (name, origin)
    with _upstreams_lock:
        if key not in _upstreams:
            limit = settings.BLIPAY_STRANGLER["UPSTREAM_CONCURRENCY"]
            pool = urllib3.connection_from_url(origin, maxsize=limit, block=False, retries=False)
            _upstreams[key] = Upstream(name=name, origin=origin, pool=pool, slots=threading.BoundedSemaphore(limit))
        return _upstreams[key]


def forwarded_for(meta: dict) -> str:
    peer = meta.get("REMOTE_ADDR", "")
    incoming = meta.get("HTTP_X_FORWARDED_FOR", "")
    if peer in settings.BLIPAY_TRUSTED_PROXIES and incoming:
        return f"{incoming}, {peer}"
    return peer  # a client's own X-Forwarded-For is not evidence of anything


def _listed(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


@dataclass(frozen=True)
class Outgoing:
    """What the proxy needs of a request to send it (or a copy of it) to a service."""

    meta: dict
    method: str
    path: str
    query: str
    scheme: str
    host: str
    request_id: str
    caller: Caller
    body: bytes

    @classmethod
    def of(cls, request: HttpRequest, *, caller: Caller, body: bytes) -> "Outgoing":
        return cls(
            meta={
                k: v for k, v in request.META.items() if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "REMOTE_ADDR")
            },
            method=request.method,
            path=request.path_info,
            query=request.META.get("QUERY_STRING", ""),
            scheme=request.scheme,
            host=request.get_host(),
            request_id=getattr(request, "request_id", ""),
            caller=caller,
            body=body,
        )

    @property
    def quoted_path(self) -> str:
        return quote(self.path, safe="/:@!$&'()*+,;=-._~")

    def headers(self, up: Upstream) -> dict[str, str]:
        """The headers to send, with a fresh identity signature (a retry or a copy is
        signed again, never resent with a used nonce)."""
        meta = self.meta
        dropped = (
            HOP_BY_HOP
            | _REBUILT
            | _listed(meta.get("HTTP_CONNECTION", ""))
            | _listed(meta.get("HTTP_PROXY_CONNECTION", ""))
        )
        headers: dict[str, str] = {}
        for key, value in meta.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").title()
            elif key == "CONTENT_TYPE" and value:
                name = "Content-Type"
            else:
                continue  # Content-Length is set below from the body actually sent
            if name.lower() not in dropped and "Blipay-Identity" not in name:
                headers[name] = value
        headers.update(
            {
                "Host": up.netloc,
                "X-Forwarded-For": forwarded_for(meta),
                "X-Forwarded-Proto": self.scheme,
                "X-Forwarded-Host": self.host,
                "X-Request-ID": self.request_id,
                IDENTITY_HEADER: sign(
                    method=self.method, path=self.path, query=self.query, body=self.body, caller=self.caller
                ),
            }
        )
        if self.body or self.method not in SAFE_METHODS:
            headers["Content-Length"] = str(len(self.body))
        return headers

    def send(self, up: Upstream, *, connect: float, read: float) -> urllib3.BaseHTTPResponse:
        return send(
            up,
            method=self.method,
            path=self.quoted_path,
            query=self.query,
            headers=self.headers(up),
            body=self.body,
            connect=connect,
            read=read,
        )


def read_body(request: HttpRequest) -> bytes:
    """The request body, read once (a shadow copy and a fallback need it again). A chunked
    upload has no Content-Length, and Django reads such a body as empty; the WSGI server has
    de-chunked it, so read the stream itself. Raises RequestDataTooBig past Django's upload limit
    (a declared Content-Length over it never gets here: BodySizeLimitMiddleware answers first)."""
    cached = getattr(request, "_strangler_body", None)
    if cached is not None:
        return cached
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and meta.get("wsgi.input_terminated"):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2**31
        chunks, size = [], 0
        while chunk := meta["wsgi.input"].read(STREAM_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise RequestDataTooBig("request body over the upload limit")
        body = b"".join(chunks)
    else:
        body = request.body
    request._strangler_body = body
    return body


def send(
    up: Upstream, *, method: str, path: str, query: str, headers: dict, body: bytes, connect: float, read: float
) -> urllib3.BaseHTTPResponse:
    """One attempt. Raises NotReached or MayHaveReached; returns the answer unread."""
    if not up.slots.acquire(blocking=False):
        raise NotReached("upstream busy")
    try:
        return up.pool.urlopen(
            method,
            f"{path}?{query}" if query else path,
            body=body if body or method not in SAFE_METHODS else None,
            headers=headers,
            retries=False,
            redirect=False,
            timeout=urllib3.Timeout(connect=connect, read=read),
            preload_content=False,
            decode_content=False,
            release_conn=False,
        )
    except (NewConnectionError, ConnectTimeoutError) as exc:
        up.slots.release()
        raise NotReached(f"connect failed: {type(exc).__name__}") from exc
    except ReadTimeoutError as exc:
        up.slots.release()
        raise MayHaveReached("read timeout") from exc
    except (HTTPError, OSError) as exc:
        up.slots.release()
        raise MayHaveReached(f"connection lost: {type(exc).__name__}") from exc


def finish(up: Upstream, answer: urllib3.BaseHTTPResponse) -> None:
    """Give the connection back to the pool (or drop it, if the body wasn't read)."""
    try:
        answer.release_conn()
    finally:
        up.slots.release()


def discard(up: Upstream, answer: urllib3.BaseHTTPResponse) -> None:
    """An answer not passed on (a fallback follows): read it off so the connection can be reused."""
    try:
        answer.drain_conn()
    except (HTTPError, OSError):
        answer.close()
    finish(up, answer)


class _RawSetCookie(Morsel):
    """A ``Set-Cookie`` passed on exactly as the service wrote it (``SameSite``,
    ``Partitioned``, ``Max-Age`` and all): Django's handlers emit ``output(header="")``."""

    def __init__(self, raw: str) -> None:
        super().__init__()
        self.raw = raw
        name, _, rest = raw.partition("=")
        try:
            self.set(name.strip(), rest.split(";", 1)[0], rest.split(";", 1)[0])
        except CookieError:
            self.set("cookie", "", "")  # an odd name: still passed on raw, below

    def output(self, attrs: object = None, header: str = "Set-Cookie:") -> str:
        return f"{header} {self.raw}".strip() if header else self.raw

    def OutputString(self, attrs: object = None) -> str:  # noqa: N802 - http.cookies' name
        return self.raw


def client_response(
    request: HttpRequest,
    up: Upstream,
    answer: urllib3.BaseHTTPResponse,
    *,
    on_done: Callable[[], None],
    tee: list | None = None,
) -> HttpResponse:
    """The Django response that passes ``answer`` to the client, streamed. ``on_done``
    runs once the body is passed on (or the client went away); ``tee`` collects a copy of
    the body for a comparison."""
    bodiless = request.method == "HEAD" or answer.status in (204, 304) or answer.status < 200
    if bodiless:
        finish(up, answer)
        on_done()
        response: HttpResponse = HttpResponse(b"", status=answer.status)
    else:
        response = StreamingHttpResponse(_Body(up, answer, on_done, tee), status=answer.status)
    del response["Content-Type"]  # only what the service sent
    dropped = (
        HOP_BY_HOP
        | _listed(", ".join(answer.headers.getlist("Connection")))
        | _listed(", ".join(answer.headers.getlist("Proxy-Connection")))
    )
    public_origin = f"{request.scheme}://{request.get_host()}"
    for index, (name, value) in enumerate(answer.headers.iteritems()):
        lower = name.lower()
        if lower in dropped:
            continue
        if lower == "set-cookie":
            dict.__setitem__(response.cookies, f"{index}", _RawSetCookie(value))
            continue
        if lower == "location" and value.startswith(up.origin):
            value = public_origin + value[len(up.origin) :]
        response[name] = f"{response[name]}, {value}" if name in response else value
    return response


class _Body:
    """The answer's body, passed on chunk by chunk. Django registers its ``close`` with the
    response, and every WSGI server closes a response, so the upstream connection and the
    concurrency slot come back even when the client goes away before or during the body
    (closing a generator that never started would run no ``finally``)."""

    def __init__(
        self, up: Upstream, answer: urllib3.BaseHTTPResponse, on_done: Callable[[], None], tee: list | None
    ) -> None:
        self.up, self.answer, self.on_done, self.tee = up, answer, on_done, tee
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.answer.stream(STREAM_CHUNK, decode_content=False):
            if self.tee is not None:
                self.tee.append(chunk)
            yield chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.answer.length_remaining:  # not read to the end: the connection can't be reused
            self.answer.close()
        finish(self.up, self.answer)
        self.on_done()


def now_ms() -> float:
    return time.perf_counter() * 1000
