"""One HTTP/1.1 exchange as bytes, for the pod proxy: the request it sends
down the port-forward stream, and the reply it reads back."""

from __future__ import annotations

from collections.abc import Mapping

from shoal.plugins.gateway.status import StatusError

# Headers that describe one hop, never forwarded (RFC 9110 7.6.1), plus what we set.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
}  # fmt: skip


def request_bytes(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, host: str
) -> bytes:
    target = path + (f"?{query}" if query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in HOP_BY_HOP]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_response(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status code, end-to-end headers, body) of a reply read to the end."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not _digits(parts[1]):
        raise StatusError("ServiceUnavailable", "the pod did not answer with HTTP")
    headers = [_header(line) for line in lines[1:] if ":" in line]
    fields = {k.lower(): v for k, v in headers}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif _digits(fields.get("content-length", "")):
        body = body[: int(fields["content-length"])]
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    return int(parts[1]), kept, body


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def _dechunk(data: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return bytes(out)  # truncated: what arrived
        size = int(data[pos:end].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()
