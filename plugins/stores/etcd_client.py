"""A small async client for etcd's v3 gRPC API, for the etcd store.

The messages and stubs are the ones the ``aetcd`` package ships (compiled from
etcd's own ``rpc.proto``); the channel is ours, because the store needs what
aetcd's client does not offer: several endpoints with failover, TLS, and one
multiplexed watch stream (see ``etcd_watch``).

Several endpoints become one gRPC channel over a static address list
(``ipv4:10.0.0.1:2379,10.0.0.2:2379``) with the round_robin policy: a member
that is down is skipped, and requests go to the members that answer.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

import grpc
from aetcd import rpc

# Reads are safe to repeat on another member; writes are not (a retried
# create might report "exists" for its own success), so only reads retry.
_SERVICE_CONFIG = """{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "etcdserverpb.KV", "method": "Range"}],
    "retryPolicy": {
      "maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "1s",
      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}"""


class EtcdConfigError(ValueError):
    """Bad endpoints or TLS files."""


@dataclass(frozen=True)
class TLSFiles:
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    def credentials(self) -> grpc.ChannelCredentials:
        if bool(self.certfile) != bool(self.keyfile):
            raise EtcdConfigError("--etcd-certfile and --etcd-keyfile go together")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.cafile),
            private_key=_read(self.keyfile),
            certificate_chain=_read(self.certfile),
        )


def _read(path: str) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise EtcdConfigError(f"cannot read {path}: {err.strerror}") from None


def parse_endpoints(endpoints: str | list[str]) -> tuple[list[tuple[str, int]], bool]:
    """``"http://a:2379,https://b:2379"`` -> ([(host, port)...], uses TLS)."""
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    parsed = [_endpoint(item.strip()) for item in items if item.strip()]
    if not parsed:
        raise EtcdConfigError("no etcd endpoints given (--etcd-endpoints URL,...)")
    schemes = {scheme for scheme, _, _ in parsed}
    if len(schemes) > 1:
        raise EtcdConfigError("etcd endpoints mix http and https")
    return [(host, port) for _, host, port in parsed], schemes == {"https"}


def _endpoint(url: str) -> tuple[str, str, int]:
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EtcdConfigError(f"bad etcd endpoint {url!r}: want http(s)://HOST:PORT")
    try:
        port = parts.port or 2379
    except ValueError:
        raise EtcdConfigError(f"bad port in etcd endpoint {url!r}") from None
    return parts.scheme, parts.hostname, port


def _target(hosts: list[tuple[str, int]]) -> str:
    """A static address list gRPC balances over; names are resolved once here."""
    addresses = [_resolve(host, port) for host, port in hosts]
    if all(isinstance(ip, ipaddress.IPv4Address) for ip, _ in addresses):
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in addresses)
    return "ipv6:" + ",".join(f"[{ip}]:{port}" for ip, port in addresses)


def _resolve(host: str, port: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    try:
        return ipaddress.ip_address(host), port
    except ValueError:
        pass
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise EtcdConfigError(f"cannot resolve etcd host {host!r}: {err}") from None
    return ipaddress.ip_address(info[0][4][0]), port


def open_channel(endpoints: str | list[str], tls: TLSFiles | None = None) -> grpc.aio.Channel:
    """One channel over every endpoint; TLS when the URLs say https or files are given."""
    hosts, https = parse_endpoints(endpoints)
    tls = tls or TLSFiles()
    options: list[tuple[str, Any]] = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", 256 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        ("grpc.use_local_subchannel_pool", 1),  # see the shoal client's options
    ]
    target = _target(hosts)
    if not (https or tls.cafile or tls.certfile):
        return grpc.aio.insecure_channel(target, options=options)
    # The certificate names a host, not the resolved address.
    options.append(("grpc.ssl_target_name_override", hosts[0][0]))
    return grpc.aio.secure_channel(target, tls.credentials(), options=options)


class EtcdClient:
    """The KV, Watch and Maintenance stubs over one channel."""

    def __init__(
        self, endpoints: str | list[str], tls: TLSFiles | None = None, timeout: float = 10.0
    ) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.channel = open_channel(endpoints, tls)
        self.kv = rpc.KVStub(self.channel)
        self.watch = rpc.WatchStub(self.channel)
        self.maintenance = rpc.MaintenanceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def range(self, request: rpc.RangeRequest) -> rpc.RangeResponse:
        return await self.kv.Range(request, timeout=self.timeout)

    async def put(self, key: bytes, value: bytes) -> rpc.PutResponse:
        return await self.kv.Put(rpc.PutRequest(key=key, value=value), timeout=self.timeout)

    async def txn(self, request: rpc.TxnRequest) -> rpc.TxnResponse:
        return await self.kv.Txn(request, timeout=self.timeout)

    async def compact(self, revision: int) -> rpc.CompactionResponse:
        return await self.kv.Compact(rpc.CompactionRequest(revision=revision), timeout=self.timeout)


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"  # every key
    return stripped[:-1] + bytes([stripped[-1] + 1])
