"""A real HTTP upstream on a loopback port, for the proxy's own behaviour: it answers
what the test asks for (status, headers, gzip, slowness) and records what it received."""

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Upstream:
    def __init__(self, name: str = "echo") -> None:
        self.name = name
        self.received: list[dict] = []
        self.answers: dict[str, int] = {}  # path → status to answer with
        self.delay = 0.0
        self.noise = True
        self.value = 1
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
                    body = _read_chunked(self.rfile)
                upstream.received.append(
                    {
                        "method": self.command,
                        "target": self.path,
                        "headers": list(self.headers.items()),
                        "body": body.decode("utf-8", "replace"),
                    }
                )
                time.sleep(upstream.delay)
                upstream.respond(self, body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urlsplit(handler.path).path
        kind = path.rsplit("/", 1)[-1]
        status = self.answers.get(path, 200)
        headers: list[tuple[str, str]] = [("X-Served-By", self.name)]
        payload = b""
        if kind == "cookies":
            headers += [
                ("Set-Cookie", "a=1; Path=/; HttpOnly"),
                ("Set-Cookie", "b=2; Path=/; Secure; SameSite=None; Partitioned; Max-Age=60"),
            ]
        if kind == "hop":
            headers += [
                ("Connection", "X-Secret-Hop"),
                ("X-Secret-Hop", "1"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "close"),
            ]
        if kind == "redirect":
            headers.append(("Location", f"{self.url}/api/v1/echo/plain?x=1"))
            status = 302
        if kind in ("204", "304"):
            status = int(kind)
        if status not in (204, 304):
            document = {"value": self.value, "target": handler.path, "method": handler.command, "body": body.decode()}
            if self.noise:
                document["noise"] = time.monotonic_ns()
            if kind == "big":
                document["padding"] = "x" * 300_000
            payload = json.dumps(document).encode()
            headers.append(("Content-Type", "application/json"))
            if kind == "gzip":
                payload = gzip.compress(payload)
                headers.append(("Content-Encoding", "gzip"))
            headers.append(("Content-Length", str(len(payload))))
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD" and payload:
            handler.wfile.write(payload)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def last(self) -> dict:
        return self.received[-1]

    def header(self, name: str, request: dict | None = None) -> list[str]:
        request = request or self.last()
        return [value for key, value in request["headers"] if key.lower() == name.lower()]


def _read_chunked(stream) -> bytes:
    body = b""
    while True:
        size = int(stream.readline().strip() or b"0", 16)
        if size == 0:
            stream.readline()
            return body
        body += stream.read(size)
        stream.readline()


def query(target: str) -> dict:
    return parse_qs(urlsplit(target).query)
