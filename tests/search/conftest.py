import pytest

from search import selectors


@pytest.fixture(params=["database", "fallback"])
def search_mode(request, monkeypatch):
    """Each search test twice: the database's own search (PostgreSQL full text when the
    suite runs on it), then the word-matching fallback SQLite uses, on the same rows."""
    if request.param == "fallback":
        monkeypatch.setattr(selectors, "_use_postgres", lambda: False)
    return request.param
