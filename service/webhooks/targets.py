"""Where webhooks may go: public addresses only, unless configuration allow-lists a
private one (LINLI_WEBHOOK_ALLOW_TARGETS: hosts or CIDRs, comma-separated).

A webhook URL is chosen by a tenant, and the deliverer runs inside the
deployment's network: without this check a URL such as http://10.0.0.5/admin
or http://169.254.169.254/ turns Linli into a proxy into that network (SSRF).
Checked when a subscription is registered (literal addresses, localhost) and
again before every attempt, on the addresses the host resolves to then.
Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    pass


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
        return address.is_global or any(address in network for network in self.networks)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("no user name or password in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("not a valid port") from exc
    return parts.scheme, parts.hostname.lower().rstrip("."), port


def check_registration(url: str, allow: AllowList) -> None:
    """At registration: refuse literal private addresses and localhost (no DNS here)."""
    _scheme, host, _port = parse_url(url)
    if host in allow.hosts:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused("loopback targets are not allowed")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if not allow.allows(address):
        raise TargetRefused("private, loopback and link-local addresses are not allowed")


def check_delivery(url: str, allow: AllowList, resolve: Resolver = _resolve) -> None:
    """Before each attempt: every address the host resolves to must be allowed."""
    _scheme, host, port = parse_url(url)
    if host in allow.hosts:
        return
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from exc
    if not addresses or not all(allow.allows(a) for a in addresses):
        raise TargetRefused(f"{host} resolves to an address that is not allowed")
