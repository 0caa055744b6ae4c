"""One HTTP POST to a checked address: no redirects followed, a timeout on every wait."""

import http.client
import socket
import ssl
from dataclasses import dataclass

from .addresses import Destination

MAX_ERROR = 300


@dataclass(frozen=True)
class Answer:
    """What came back: a status code, or an error when nothing usable did."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def worth_retrying(self) -> bool:
        """Timeouts, refused connections and 5xx may pass; 3xx and 4xx will not."""
        return self.status is None or self.status >= 500


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._ip = destination.ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float):
        super().__init__(
            destination.host,
            destination.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
        self._ip = destination.ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        # The certificate is checked against the host name, not the address we pinned.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(destination: Destination, body: bytes, headers: dict, *, timeout: float) -> Answer:
    """POST the body; the answer's status, or why there is none."""
    cls = _PinnedHTTPS if destination.scheme == "https" else _PinnedHTTP
    conn = cls(destination, timeout)
    try:
        conn.request("POST", destination.path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(4096).decode("utf-8", "replace")
    except TimeoutError:
        return Answer(None, f"No answer within {timeout:g} s.")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    finally:
        conn.close()
    if 300 <= response.status < 400:
        where = response.getheader("Location", "elsewhere")
        return Answer(response.status, f"Redirect to {where} not followed."[:MAX_ERROR])
    if response.status >= 300:
        return Answer(response.status, f"HTTP {response.status}: {text.strip()}"[:MAX_ERROR])
    return Answer(response.status)
