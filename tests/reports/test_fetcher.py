"""WeasyPrint loads only our static files: file://, the network, redirects, devices and paths
outside static/ are refused and logged, and the PDF is still produced."""

import http.server
import threading

import pytest

from reports import pdf

from .helpers import normalized, pdf_text


class Recorder(http.server.BaseHTTPRequestHandler):
    """Redirects every request to /etc/passwd-like targets, and remembers it was asked."""

    hits: list[str] = []

    def do_GET(self):
        Recorder.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirecting_server():
    Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def hostile_html(redirect: str) -> str:
    return f"""<!doctype html><html><head>
    <link rel="stylesheet" href="{pdf.STATIC_BASE}css/report.css">
    <link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/style.css">
    <link rel="stylesheet" href="{redirect}/sheet.css">
    <style>
      @import url("file:///etc/passwd");
      @import "{redirect}/imported.css";
      body {{ background: url("/dev/urandom"); }}
      p {{ background-image: url("{pdf.STATIC_BASE}../../../../etc/passwd.png"); }}
      @font-face {{ font-family: X; src: url("{redirect}/font.woff2"); }}
    </style></head><body>
    <h1 style="background: url('file:///dev/urandom')">Hostile report</h1>
    <img src="file:///etc/passwd"><img src="http://169.254.169.254/latest/meta-data/">
    <img src="{redirect}/image.png"><img src="/dev/urandom"><img src="data:image/png;base64,AAAA">
    <object data="{redirect}/object"></object><iframe src="{redirect}/frame"></iframe>
    <svg xmlns="http://www.w3.org/2000/svg"><image href="{redirect}/svg-image.png"/></svg>
    <p>the report text survives</p></body></html>"""


def test_nothing_outside_static_is_fetched_and_every_attempt_is_logged(redirecting_server, caplog):
    caplog.set_level("WARNING", logger="reports.fetch")
    data = pdf.html_to_pdf(hostile_html(redirecting_server))
    text, pages = pdf_text(data)
    assert "the report text survives" in normalized(text)
    assert pages >= 1
    assert Recorder.hits == []  # the redirecting server was never asked
    logged = caplog.text
    for target in (
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        f"{redirecting_server}/image.png",
        f"{redirecting_server}/imported.css",
        f"{redirecting_server}/sheet.css",
        "/dev/urandom",
    ):
        assert target in logged, target
    assert "passwd.png" in logged  # a path escaping static/ is refused too


def test_the_print_stylesheet_is_served_from_our_static_files():
    fetcher = pdf.AllowlistFetcher()
    response = fetcher(f"{pdf.STATIC_BASE}css/report.css")
    assert b"@page" in response.read()
    response.close()
    assert fetcher.served == [f"{pdf.STATIC_BASE}css/report.css"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///dev/urandom",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/static/css/report.css",
        f"{pdf.STATIC_BASE}../../etc/passwd",
        f"{pdf.STATIC_BASE}%2e%2e/%2e%2e/etc/passwd.css",
        f"{pdf.STATIC_BASE}css/report.css?x=1",
        f"{pdf.STATIC_BASE}js/reports.js",
        f"{pdf.STATIC_BASE}css/missing.css",
    ],
)
def test_the_fetcher_refuses_urls_outside_the_allowlist(url, caplog):
    caplog.set_level("WARNING", logger="reports.fetch")
    fetcher = pdf.AllowlistFetcher()
    with pytest.raises(pdf.BlockedResource):
        fetcher(url)
    assert fetcher.blocked == [url]
    assert "refused" in caplog.text


def test_the_event_name_in_the_running_header_cannot_break_out_of_css():
    assert pdf.css_string('x"; } @import "http://evil/') == (
        '"x\\000022\\00003b \\00007d \\000040import \\000022http\\00003a\\00002f\\00002fevil\\00002f"'
    )
