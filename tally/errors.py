"""Service-level errors every app may raise, mapped to HTTP once (tally.api.exception_handler)."""


class ClosedForWrites(Exception):
    """A write refused because what it changes is closed (e.g. a finalized retro): a 409."""


class Moved(Exception):
    """What was asked for lives at another address now: a permanent redirect (301 for GET and
    HEAD, 308 keeping the method otherwise) to the request's path with `old` (a path segment
    such as "/runbooks/failover-a/") replaced by `new` (tally.middleware, tally.api)."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"moved: {old} -> {new}")
        self.old, self.new = old, new

    def location(self, request) -> str:
        """The request's address with the old segment replaced (its query string kept)."""
        path = request.path.replace(self.old, self.new, 1)
        query = request.META.get("QUERY_STRING", "")
        return f"{path}?{query}" if query else path

    def status(self, request) -> int:
        return 301 if request.method in ("GET", "HEAD") else 308
