"""Where a webhook may send: public addresses only, unless TALLY_WEBHOOK_ALLOWED_HOSTS says so.

The host is resolved and every address it resolves to is checked, when the webhook is saved
and again before each attempt (a name may resolve elsewhere later: DNS rebinding); the
sender then connects to the checked address, not to whatever a second lookup returns.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
MAX_URL = 2000


class ForbiddenDestination(Exception):
    """The URL is not http(s), does not resolve, or resolves to an address we do not call."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: its parts and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    ip: str


def _why_not_public(ip) -> str | None:
    if ip in METADATA:
        return "a cloud metadata address"
    for test, label in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(ip, test):
            return label
    return None if ip.is_global else "not a public address"


def _allowed(host: str, ip) -> bool:
    """True when TALLY_WEBHOOK_ALLOWED_HOSTS names the host or a network holding the address."""
    for item in settings.TALLY_WEBHOOK_ALLOWED_HOSTS:
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            if item.lower().rstrip(".") == host:
                return True
    return False


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; ForbiddenDestination if not."""
    if not isinstance(url, str) or not url.strip():
        raise ForbiddenDestination("Give the URL the webhook posts to.")
    if len(url) > MAX_URL:
        raise ForbiddenDestination(f"The URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ForbiddenDestination(f"This is not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise ForbiddenDestination("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise ForbiddenDestination("The URL has no host.")
    if parts.username or parts.password:
        raise ForbiddenDestination("Put no user name or password in the URL.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower().rstrip("."), port or default, path


def check(url: str) -> Destination:
    """Resolve the URL's host and refuse it unless every address is public or allowed."""
    scheme, host, port, path = split_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ForbiddenDestination(f"The host {host} does not resolve ({exc}).") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        why = _why_not_public(ip)
        if why and not _allowed(host, ip):
            raise ForbiddenDestination(
                f"{host} resolves to {ip}, {why}: webhooks go to public addresses only "
                "(an admin may allow it with TALLY_WEBHOOK_ALLOWED_HOSTS)."
            )
    return Destination(scheme=scheme, host=host, port=port, path=path, ip=addresses[0])
