"""Who a login attempt is counted against, as login throttling (django-axes) records and locks
it: the address a request came from, and the username it tried.

Behind PROXY_COUNT trusted proxies, each proxy appends the address it received the request from
to X-Forwarded-For, so the client's address is the PROXY_COUNT-th entry from the right. Every
entry to the left of it was written by the client and proves nothing: reading the left-most
one, as django-ipware does, let anyone pick a new address for every guess and never be locked.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth import get_user_model


def client_ip(request) -> str | None:
    """The client's address: the one our own proxies appended, else the connection's."""
    remote_addr = request.META.get("REMOTE_ADDR") or None
    remote_addr = remote_addr and (one_client(remote_addr) or remote_addr)
    # Read at request time, not import time, so a test (or a settings override) can change it.
    proxies = settings.PROXY_COUNT
    if not proxies:
        return remote_addr
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
    if len(forwarded) < proxies:
        # Fewer entries than proxies: the request did not come through all of them (someone
        # reached a server behind the first proxy directly). Its connection's address is the
        # one thing here nobody can forge; at worst it is a proxy's, shared by everyone who
        # came that way, which throttles them together rather than letting any of them off.
        return remote_addr
    return one_client(forwarded[-proxies]) or remote_addr


def one_client(entry: str) -> str | None:
    """An address as one client's: without the port some proxies add ("1.2.3.4:5678",
    "[2001:db8::1]:443"), and an IPv6 address as its /64, which one person's line holds whole
    (counted one by one, its 2^64 addresses would each get five tries). None if not an address
    (the connection's address is used then, not text the database would refuse to store)."""
    host = entry
    if entry.startswith("[") and "]" in entry:
        host = entry[1 : entry.index("]")]
    elif entry.count(":") == 1:
        host = entry.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)


def login_username(request, credentials: dict | None = None) -> str | None:
    """The username an attempt is counted under: as typed, without NUL bytes and cut to the
    longest a username can be (axes keeps 255 characters; a longer one broke the login page on
    PostgreSQL). No account has a longer name, so nobody is locked out by the cut."""
    if credentials:
        name = credentials.get("username")
    else:
        name = getattr(request, "data", request.POST).get("username")
    if not isinstance(name, str):
        return name
    longest = get_user_model()._meta.get_field("username").max_length
    return name.replace("\x00", "")[:longest]
