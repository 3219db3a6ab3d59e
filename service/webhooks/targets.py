"""Where webhooks may go: public addresses only, unless configuration allow-lists a
private one (LINLI_WEBHOOK_ALLOW_TARGETS: hosts or CIDRs, comma-separated).

A webhook URL is chosen by a tenant, and the deliverer runs inside the
deployment's network: without this check a URL such as http://10.0.0.5/admin
or http://169.254.169.254/ turns Linli into a proxy into that network (SSRF).
Checked when a subscription is registered (the URL's form, literal addresses,
localhost) and again before every attempt, on the addresses the host resolves
to then; the attempt connects to the address that was checked (`pinned`), so a
name that answers differently the second time (DNS rebinding) cannot slip
through. Redirects are never followed. Payloads carry residents' phones: https
only, except to targets the allow-list names.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.i18n import Rejected

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetRefused(Rejected):
    """A URL webhooks may not target: its catalogue code says why (str(): English)."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts, networks = set(), []
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, address: Address) -> bool:
        """Global, or in an allow-listed network — and so is every IPv4 address it
        carries (`::7f00:1`, NAT64's `64:ff9b::7f00:1` reach 127.0.0.1)."""
        return all(
            a.is_global or any(a in network for network in self.networks) for a in carried(address)
        )

    def names(self, host: str) -> bool:
        """The allow-list names this host, or (an address) a network holding it."""
        if host in self.hosts:
            return True
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


# Where an IPv6 address carries an IPv4 one in its last 32 bits.
_CARRIERS = tuple(ipaddress.IPv6Network(n) for n in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48"))


def carried(address: Address) -> list[Address]:
    """The address and every IPv4 address inside it (mapped, compatible, NAT64,
    6to4, Teredo)."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if any(address in network for network in _CARRIERS):
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_url(url: str) -> tuple[str, str, int]:
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise TargetRefused("webhook.url_characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("webhook.url_shape")
    if parts.username or parts.password:
        raise TargetRefused("webhook.url_credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("webhook.url_port") from exc
    host = parts.hostname.lower().rstrip(".")
    _check_host_form(host)
    return parts.scheme, host, port


def _check_host_form(host: str) -> None:
    """A host in one canonical form: a dotted-decimal IPv4 address, an IPv6
    literal or a DNS name. Resolvers and URL parsers read 127.1, 0x7f.1,
    2130706433 and 0177.0.0.1 as 127.0.0.1; a name whose last label is a number
    is parsed as an address by browsers' URL standard."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        pass
    else:
        raise TargetRefused("webhook.url_ipv4")
    if not _HOST_NAME.match(host) or host.rsplit(".", 1)[-1].isdigit():
        raise TargetRefused("webhook.url_host")


def _https_unless_listed(scheme: str, host: str, allow: AllowList) -> None:
    if scheme != "https" and not allow.names(host):
        raise TargetRefused("webhook.url_https")


def check_registration(url: str, allow: AllowList) -> None:
    """At registration: refuse odd forms, plain http, literal private addresses and
    localhost (no DNS here)."""
    scheme, host, _port = parse_url(url)
    _https_unless_listed(scheme, host, allow)
    if host in allow.hosts:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused("webhook.url_loopback")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if not allow.allows(address):
        raise TargetRefused("webhook.url_private")


def check_delivery(url: str, allow: AllowList, resolve: Resolver = _resolve) -> Address | None:
    """Before each attempt: every address the host resolves to must be allowed.
    Returns the address to connect to (the first checked one; the caller pins
    the connection to it), or None for a host the allow-list names, which is
    left to the system's resolver."""
    scheme, host, port = parse_url(url)
    _https_unless_listed(scheme, host, allow)
    if host in allow.hosts:
        return None
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except OSError as exc:
        raise TargetRefused("webhook.url_unresolved", host=host, reason=str(exc)) from exc
    if not addresses or not all(allow.allows(a) for a in addresses):
        raise TargetRefused("webhook.url_resolves_private", host=host)
    return addresses[0]


@dataclass(frozen=True)
class Pinned:
    """A request to `url` that connects to a checked address: the URL names the
    address, `Host` and TLS's SNI (so also the certificate check) name the host."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def pin(url: str, address: Address | None) -> Pinned:
    if address is None:
        return Pinned(url, {}, {})
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    # One connection per attempt: the client's pool is keyed by address, and a
    # kept-alive TLS connection negotiated for another name on the same address
    # must not carry this request.
    headers = {"Host": parts.netloc, "Connection": "close"}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return Pinned(parts._replace(netloc=netloc).geturl(), headers, extensions)
