"""A real local HTTP receiver for webhook tests: a thread running http.server on a free port.

It records every request (path, headers, raw body) and answers from a script: a status code,
"timeout" (answer nothing for a while), or ("redirect", location).
"""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when it arrived

    def signed_with(self, secret: str) -> bool:
        """True when X-Tally-Signature is the HMAC-SHA256 of the raw body with `secret`."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Tally-Signature", ""))


@dataclass
class Receiver:
    """Start with `with Receiver(script=[500, 200]) as r:`; r.url, r.received."""

    script: list = field(default_factory=list)  # answers in order; then `default`
    default: object = 200
    hang_seconds: float = 3.0
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.time())
                )
                answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "timeout":
                    time.sleep(receiver.hang_seconds)
                    answer = 200
                if isinstance(answer, tuple):  # ("redirect", "/elsewhere")
                    self.send_response(302)
                    self.send_header("Location", answer[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = b"ok" if answer < 300 else b"receiver trouble"
                self.send_response(answer)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def for_event(self, name: str) -> list[Received]:
        return [r for r in self.received if r.headers.get("X-Tally-Event") == name]
