"""Binding the API server's port with an error a person can act on.

gRPC reports a taken port as a bare ``RuntimeError`` ("Failed to bind to
address ...") after its core has written its own log line to stderr; we
check the address first, the way gRPC will bind it, and keep gRPC's line
out of stderr should the port be taken in between."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

API_PROCESS_ENV = "SHOAL_API_PROCESS"


def api_process() -> int | None:
    """This process's index among ``shoal server --api-processes N``'s API
    server processes (set by the parent in ``SHOAL_API_PROCESS``), or None
    for a server of its own."""
    value = os.environ.get(API_PROCESS_ENV, "")
    return int(value) if value.isdigit() else None


def shared_port() -> bool:
    """Listeners bind with SO_REUSEPORT: the kernel spreads the connections
    over the API processes that share the port."""
    return api_process() is not None


class ListenError(OSError):
    """The address cannot be listened on; the message says why, ``errno``
    what (EADDRINUSE: another program has the port)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code


def split(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ListenError(f"cannot listen on {address}: not HOST:PORT")
    return host.strip("[]"), int(port)


def check_free(address: str) -> None:
    """Raise ListenError unless some address ``address`` resolves to can be
    bound as gRPC binds (SO_REUSEADDR, no SO_REUSEPORT); port 0 always can."""
    host, port = split(address)
    if port == 0 or shared_port():  # shared: the parent has bound it already
        return
    try:
        candidates = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as err:
        reason = (err.strerror or str(err)).lower()
        raise ListenError(f"cannot listen on {address}: {reason}") from None
    first: OSError | None = None
    for family, kind, proto, _, sockaddr in candidates:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
                return
            except OSError as err:
                first = first or err
    if first is None:
        raise ListenError(f"cannot listen on {address}: no address to bind")
    reason = (first.strerror or str(first)).lower()
    raise ListenError(f"cannot listen on {address}: {reason}", first.errno)


def bind(add_port: Callable[[str], int], address: str) -> int:
    """``add_port(address)`` (a gRPC server's add_secure_port or
    add_insecure_port): the port bound, or ListenError."""
    check_free(address)
    with tempfile.TemporaryFile() as captured:
        with _stderr_to(captured):
            try:
                port = add_port(address)
            except RuntimeError:  # grpcio >= 1.55 raises where it used to return 0
                port = 0
        captured.seek(0)
        said = captured.read()
    if port == 0:
        reason = _reason(said)
        code = errno.EADDRINUSE if reason == os.strerror(errno.EADDRINUSE).lower() else None
        raise ListenError(f"cannot listen on {address}: {reason}", code)
    if said:  # not about binding: not ours to hide
        os.write(2, said)
    return port


@contextlib.contextmanager
def _stderr_to(target: IO[bytes]) -> Iterator[None]:
    """gRPC core writes to file descriptor 2, not to sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _reason(core_log: bytes) -> str:
    """ "address already in use" from gRPC core's "(Error in bind for
    address '...': Address already in use)"."""
    found = re.search(rb"Error in bind for address '[^']*': ([^)\n]+)", core_log)
    return found.group(1).decode(errors="replace").lower() if found else "cannot bind"
