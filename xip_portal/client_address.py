"""The address a request came from, for IP allow-lists and per-address limits.

By default it is the connection's peer (REMOTE_ADDR). Behind reverse proxies, set
TRUSTED_PROXY_COUNT to how many of them sit in front of the server, each appending the
address it saw to X-Forwarded-For: the client is then the entry the outermost of them
added. Trusting the header without that setting would let any client name any address.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    return client_address_of(
        str(request.META.get("REMOTE_ADDR", "")),
        str(request.META.get("HTTP_X_FORWARDED_FOR", "")),
    )


def client_address_of(peer: str, forwarded: str) -> str:
    """The client's address from the connection's peer and the X-Forwarded-For header (for
    a server that reads them off the connection itself, as the order fast path does)."""
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0 or not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",")]
    # fewer hops than proxies: the request did not come through all of them
    return hops[-proxies] if len(hops) >= proxies else peer
