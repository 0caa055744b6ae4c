"""No SSRF: a webhook posts to public addresses only, unless TALLY_WEBHOOK_ALLOWED_HOSTS
lists the host or a network holding its address."""

import pytest

from webhooks import addresses
from webhooks.addresses import ForbiddenDestination


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::1]:9000/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://localhost:8000/hook", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://169.254.10.10/", "link-local"),
    ],
)
def test_internal_destinations_are_refused(url, why):
    with pytest.raises(ForbiddenDestination, match=why):
        addresses.check(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("https://user:pw@93.184.216.34/", "no user name"),
        ("http:///nohost", "no host"),
        ("", "Give the URL"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, message):
    with pytest.raises(ForbiddenDestination, match=message):
        addresses.check(url)


def test_a_public_address_is_accepted_and_pinned():
    destination = addresses.check("https://93.184.216.34:8443/in?x=1")
    assert (destination.scheme, destination.port, destination.path) == ("https", 8443, "/in?x=1")
    assert destination.ip == "93.184.216.34"


def test_the_allow_list_takes_cidrs(settings):
    settings.TALLY_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.0/8"]
    assert addresses.check("http://10.9.8.7/hook").ip == "10.9.8.7"
    with pytest.raises(ForbiddenDestination):
        addresses.check("http://192.168.1.1/hook")  # not in the listed network


def test_the_allow_list_takes_host_names_for_every_address_they_resolve_to(settings):
    settings.TALLY_WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    assert addresses.check("http://localhost:9000/hook").port == 9000
    with pytest.raises(ForbiddenDestination):
        addresses.check("http://127.0.0.1:9000/hook")  # the name is allowed, not the address
