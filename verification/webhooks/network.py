"""Outbound webhook requests that cannot be turned against our own network (SSRF).

- The host is resolved once; **every** address it resolves to is checked with `ipaddress`
  (loopback, link-local, private, multicast, reserved, unspecified, anything not global, and the
  IPv4 address inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses). One bad address
  refuses the host.
- The connection goes to the address that was checked, never to the name again, so a DNS
  answer that changes between the check and the connection (rebinding) cannot slip through.
  HTTPS still verifies the certificate against the host name (SNI and hostname check).
- An admin's allowance (`WebhookHostAllowance`: a host name, or a network in CIDR form) is the
  only way past the address rule, and the only way to use plain http when https is required.
- Connect and read timeouts, a deadline on the whole answer, a cap on the bytes read, and no
  redirects (a 3xx is an answer like any other, not followed).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from verification.models import WebhookHostAllowance

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """The URL may not be called: its reason is safe to show to the employer."""


@dataclass(frozen=True)
class Target:
    """A parsed webhook URL."""

    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # path and query, never empty

    @property
    def host_header(self) -> str:
        """The Host header: the name (or bracketed IPv6 literal), and the port if not the default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


@dataclass(frozen=True)
class Allowances:
    """The admins' exceptions: host names and networks."""

    hosts: frozenset[str]
    networks: tuple[IpNetwork, ...]

    @classmethod
    def current(cls) -> Allowances:
        """As stored now (read on every check, so a removal takes effect at the next attempt)."""
        hosts: set[str] = set()
        networks: list[IpNetwork] = []
        for entry in WebhookHostAllowance.objects.values_list("host", flat=True):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower())
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """True if the host name (or literal address) itself is allowed."""
        return host in self.hosts

    def allows_address(self, ip: IpAddress) -> bool:
        """True if an allowed network holds the address."""
        return any(ip.version == n.version and ip in n for n in self.networks)


def parse(url: str) -> Target:
    """Split a webhook URL; Refused for what can never be called."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Refused("The URL is not valid.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise Refused("Use an https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Credentials in the URL are not allowed; verify our signature instead.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Refused("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or _DEFAULT_PORTS[scheme], path)


def address_problem(ip: IpAddress) -> str:
    """What makes an address one we must not call ('' if it is a public address)."""
    embedded: IpAddress | None = None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            embedded = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            embedded = ip.sixtofour
        elif ip.teredo is not None:
            embedded = ip.teredo[1]
        elif ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    for candidate in (embedded, ip):  # the embedded IPv4 address names the real destination
        if candidate is None:
            continue
        for flag, label in (
            ("is_loopback", "a loopback"),
            ("is_link_local", "a link-local"),
            ("is_multicast", "a multicast"),
            ("is_unspecified", "an unspecified"),
            ("is_reserved", "a reserved"),
            ("is_private", "a private"),
        ):
            if getattr(candidate, flag):
                return label
        if not candidate.is_global:
            return "a non-public"
    return ""


def resolve(target: Target, allowances: Allowances | None = None) -> list[str]:
    """The addresses of the target's host, each checked; Refused if any may not be called."""
    allowances = allowances or Allowances.current()
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"The host {target.host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise Refused(f"The host {target.host} does not resolve.")
    if allowances.allows_host(target.host):
        return addresses
    for text in addresses:
        ip = ipaddress.ip_address(text)
        problem = address_problem(ip)
        if problem and not allowances.allows_address(ip):
            raise Refused(
                f"The host {target.host} resolves to {ip}, {problem} address; "
                "webhooks only go to public addresses (an admin may allow a host)."
            )
    return addresses


def check_url(url: str, allowances: Allowances | None = None) -> Target:
    """Everything a subscription's URL must satisfy, checked now; Refused with the reason."""
    if len(url) > 2000:
        raise Refused("At most 2,000 characters.")
    target = parse(url)
    allowances = allowances or Allowances.current()
    resolve(target, allowances)
    allowed = allowances.allows_host(target.host) or _literal_allowed(target.host, allowances)
    if target.scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS and not allowed:
        raise Refused("Use an https:// URL.")
    return target


def _literal_allowed(host: str, allowances: Allowances) -> bool:
    try:
        return allowances.allows_address(ipaddress.ip_address(host))
    except ValueError:
        return False


@dataclass(frozen=True)
class Answer:
    """What came back from one attempt: a status code and an excerpt, or an error."""

    status: int | None = None
    excerpt: str = ""
    truncated: bool = False
    error: str = ""
    address: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer (a redirect is not followed, so it is not a success)."""
        return self.status is not None and 200 <= self.status < 300


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=limits,
            retries=False,
            maxsize=1,
            server_hostname=target.host,  # SNI and the certificate's name: the host, not the address
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(
        address, target.port, timeout=limits, retries=False, maxsize=1
    )


def _read_capped(
    response: urllib3.BaseHTTPResponse, limit: int, deadline: float
) -> tuple[bytes, bool]:
    """At most `limit` bytes of the body, stopping at the deadline; (bytes, truncated)."""
    data = bytearray()
    while len(data) <= limit:
        if time.monotonic() > deadline:
            raise Urllib3Timeout("the answer took too long")
        chunk = response.read1(min(8192, limit + 1 - len(data)))
        if not chunk:
            return bytes(data), False
        data.extend(chunk)
    return bytes(data[:limit]), True


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float | None = None,
    max_bytes: int | None = None,
    excerpt_chars: int = 1000,
) -> Answer:
    """POST `body` to a checked address of the URL's host; never raises for the receiver's faults."""
    timeout = timeout if timeout is not None else settings.WEBHOOK_TIMEOUT_SECONDS
    limit = max_bytes if max_bytes is not None else settings.WEBHOOK_RESPONSE_MAX_BYTES
    try:
        target = parse(url)
        address = resolve(target)[0]
    except Refused as exc:
        return Answer(error=f"Refused: {exc}"[:300])
    pool = _pool(target, address, timeout)
    deadline = time.monotonic() + timeout
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data, truncated = _read_capped(response, limit, deadline)
        finally:
            response.close()  # never back to a pool: a truncated body is left unread
    except Urllib3Timeout:
        return Answer(error=f"Timed out after {timeout:g} s.", address=address)
    except (Urllib3Error, OSError) as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}"[:300], address=address)
    finally:
        pool.close()
    excerpt = data.decode("utf-8", errors="replace").replace("\x00", "")[:excerpt_chars]
    return Answer(response.status, excerpt, truncated, "", address)
