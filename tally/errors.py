"""Service-level errors every app may raise, mapped to HTTP once (tally.api.exception_handler)."""


class ClosedForWrites(Exception):
    """A write refused because what it changes is closed (e.g. a finalized retro): a 409."""
