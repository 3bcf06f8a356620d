"""Which IP addresses the crawler may connect to (server-side request forgery protection).

A host name is resolved first and every address it resolves to is checked; one
forbidden address refuses the host. The check runs before each request hop and
again inside the connection itself (the socket connects to the checked address,
never to a second resolution), so neither redirects nor DNS tricks reach an
internal service.

Always refused: cloud metadata endpoints (169.254.169.254, fd00:ec2::254,
100.100.100.200), unspecified (0.0.0.0/8, ::), link-local, multicast and reserved
addresses. Loopback is refused unless ``CRAWLER_ALLOW_LOOPBACK``; private and other
non-global addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, ...) unless
``CRAWLER_ALLOW_PRIVATE``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from consumer_crawler.errors import FetchFailed, ForbiddenAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(value) for value in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def address_category(address: IPAddress) -> str | None:
    """Why an address is special ('loopback', 'private', 'link-local', ...), or None for a global address."""
    address = _embedded_ipv4(address)
    checks = (
        ("cloud metadata", address in METADATA_ADDRESSES),
        ("unspecified", address.is_unspecified or (address.version == 4 and address in THIS_NETWORK)),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private or not address.is_global),
    )
    return next((category for category, matches in checks if matches), None)


@dataclass(frozen=True)
class AddressPolicy:
    """The addresses the crawler may connect to."""

    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """The category that forbids ``address``, or None when it is allowed."""
        category = address_category(address)
        if category is None:
            return None
        if category == "loopback" and self.allow_loopback:
            return None
        if category == "private" and self.allow_private:
            return None
        return category

    def check(self, host: str, address: IPAddress) -> None:
        """Raise ForbiddenAddress when ``address`` (resolved from ``host``) is not allowed."""
        category = self.refusal(address)
        if category is not None:
            hint = ""
            if category == "loopback":
                hint = " (set CRAWLER_ALLOW_LOOPBACK=true to allow it)"
            elif category == "private":
                hint = " (set CRAWLER_ALLOW_PRIVATE=true to allow it)"
            shown = host if host == str(address) else f"{host} ({address})"
            raise ForbiddenAddress(f"refusing to connect to {shown}: {category} address{hint}")

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, each checked; raises before anything is connected."""
        host = host.strip("[]")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check(host, literal)
            return [str(literal)]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchFailed(f"cannot resolve host {host!r}: {exc}") from None
        addresses: list[str] = []
        for info in infos:
            text = str(info[4][0]).split("%", 1)[0]
            address = ipaddress.ip_address(text)
            self.check(host, address)
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise FetchFailed(f"host {host!r} resolves to no address")
        return addresses
