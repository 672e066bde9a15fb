"""The client's address is the peer's unless the server is told how many proxies stand in
front of it: only then does X-Forwarded-For count, and only the entries they added."""

import pytest
from django.test import RequestFactory

from xip_portal.client_address import client_address

PROXY = "10.0.0.2"


def request_from(forwarded: str = ""):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=PROXY, **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "", PROXY),
        (0, "203.0.113.7", PROXY),  # a client may write any header: not trusted by default
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the first hop is the client's own
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", PROXY),  # fewer hops than proxies: it bypassed one
        (1, "", PROXY),
    ],
)
def test_the_client_address(settings, proxies, forwarded, address) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_address(request_from(forwarded)) == address
