"""SPDY/3.1 framing (the protocol kubectl's port-forward and older exec
clients speak), written from the SPDY/3 and 3.1 drafts.

Every frame starts with 8 bytes. A control frame: the control bit, a 15-bit
version (3), a 16-bit type, 8 bits of flags and a 24-bit length. A DATA
frame: a zero bit, a 31-bit stream id, flags and length. Header blocks
(SYN_STREAM, SYN_REPLY, HEADERS) are a count, then length-prefixed names and
values (several values of a name are joined by NUL), compressed with zlib
seeded with SPDY/3's fixed dictionary; each direction of a connection keeps
ONE zlib context for its whole life and ends every block with a sync flush,
so the frames must be encoded in the order they are sent and decoded in the
order they arrive.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9,
)  # fmt: skip
FLAG_FIN, FLAG_UNIDIRECTIONAL = 0x01, 0x02
# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL = 1, 2, 3, 4, 5
INTERNAL_ERROR, FLOW_CONTROL_ERROR, STREAM_IN_USE, STREAM_ALREADY_CLOSED = 6, 7, 8, 9
SETTINGS_INITIAL_WINDOW_SIZE = 7
DEFAULT_WINDOW = 64 * 1024  # SPDY/3.1's initial stream and session windows
MAX_LENGTH = (1 << 24) - 1  # a frame's 24-bit length
MAX_HEADER_BLOCK = 1 << 20  # decompressed; far above what any client sends

Headers = dict[str, list[str]]

# SPDY/3 draft 2.6.10.1: the header names and common values, each as a
# 4-byte big-endian length and the word, then status lines, dates and media
# types as plain text. 1423 bytes, adler32 0xe3c6a7c2 (the dictionary id in
# every compressed header block's zlib header).
_WORDS = (  # noqa: SIM905 (a list literal of 65 words is harder to check against the spec)
    "options head post put delete trace accept accept-charset accept-encoding "
    "accept-language accept-ranges age allow authorization cache-control connection "
    "content-base content-encoding content-language content-length content-location "
    "content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
    "server te trailer transfer-encoding upgrade user-agent vary via warning "
    "www-authenticate method get status 200_OK version HTTP/1.1 url public set-cookie "
    "keep-alive origin"
).split(" ")
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
    "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
    "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
    "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
    "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(
    struct.pack(">I", len(w)) + w.replace("_", " ").encode("ascii") for w in _WORDS
) + _TAIL.encode("ascii")


class SpdyError(Exception):
    """A violation of the protocol that ends the whole connection."""


@dataclass
class SynStream:
    stream_id: int
    headers: Headers
    flags: int = 0
    associated_to: int = 0
    priority: int = 0  # 3 bits, 0 the highest
    slot: int = 0


@dataclass
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass
class RstStream:
    stream_id: int
    status: int


@dataclass
class Settings:
    values: dict[int, int]  # id -> value
    flags: int = 0


@dataclass
class Ping:
    ping_id: int


@dataclass
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass
class HeadersFrame:
    stream_id: int
    headers: Headers
    flags: int = 0


@dataclass
class WindowUpdate:
    stream_id: int  # 0: the whole session (SPDY/3.1)
    delta: int


@dataclass
class Data:
    stream_id: int
    data: bytes
    flags: int = 0


Frame = (
    SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate | Data
)


def header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block; names are lowercased, as SPDY wants."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name, raw_value = name.lower().encode("latin-1"), "\0".join(values).encode("latin-1")
        out += [struct.pack(">I", len(raw_name)), raw_name]
        out += [struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def parse_header_block(raw: bytes) -> Headers:
    view, pos = memoryview(raw), 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(view):
            raise SpdyError("header block is truncated")
        pos += n
        return bytes(view[pos - n : pos])

    (count,) = struct.unpack(">I", take(4))
    headers: Headers = {}
    for _ in range(count):
        name = take(struct.unpack(">I", take(4))[0]).decode("latin-1")
        value = take(struct.unpack(">I", take(4))[0]).decode("latin-1")
        if not name or name != name.lower():
            raise SpdyError(f"invalid header name {name!r}")
        if name in headers:
            raise SpdyError(f"duplicate header {name!r}")
        headers[name] = value.split("\0")
    if pos != len(view):
        raise SpdyError("header block has trailing bytes")
    return headers


class Encoder:
    """Frames to bytes, with this direction's one header compressor."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    def _compress(self, headers: Headers) -> bytes:
        return self._zlib.compress(header_block(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, Data):
            if not 0 < frame.stream_id < 1 << 31 or len(frame.data) > MAX_LENGTH:
                raise ValueError("invalid DATA frame")
            return struct.pack(">II", frame.stream_id, frame.flags << 24 | len(frame.data)) + (
                frame.data
            )
        kind, flags, body = self._control(frame)
        return _control_header(kind, flags, len(body)) + body

    def _control(self, frame: Frame) -> tuple[int, int, bytes]:
        match frame:
            case SynStream():
                prefix = struct.pack(
                    ">IIBB", frame.stream_id, frame.associated_to, frame.priority << 5, frame.slot
                )
                return SYN_STREAM, frame.flags, prefix + self._compress(frame.headers)
            case SynReply():
                body = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
                return SYN_REPLY, frame.flags, body
            case HeadersFrame():
                body = struct.pack(">I", frame.stream_id) + self._compress(frame.headers)
                return HEADERS, frame.flags, body
            case RstStream():
                return RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
            case Settings():
                pairs = b"".join(struct.pack(">II", i, v) for i, v in frame.values.items())
                return SETTINGS, frame.flags, struct.pack(">I", len(frame.values)) + pairs
            case Ping():
                return PING, 0, struct.pack(">I", frame.ping_id)
            case GoAway():
                return GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status)
            case WindowUpdate():
                return WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta)
        raise TypeError(f"not a SPDY frame: {frame!r}")


def _control_header(kind: int, flags: int, length: int) -> bytes:
    if length > MAX_LENGTH:
        raise ValueError("control frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | length)


class Decoder:
    """Bytes to frames, with this direction's one header decompressor.
    ``feed`` takes whatever arrived and returns the frames it completed;
    control frames of unknown types are skipped, as the spec says."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(15, DICTIONARY)
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            body = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = flags_length >> 24
            if not first & 0x80000000:
                if first == 0:
                    raise SpdyError("DATA frame on stream 0")
                frames.append(Data(first, body, flags))
                continue
            version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise SpdyError(f"unsupported SPDY version {version}")
            frame = self._control(kind, flags, body)
            if frame is not None:
                frames.append(frame)
        return frames

    def _headers(self, compressed: bytes) -> Headers:
        try:
            raw = self._zlib.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as err:
            raise SpdyError(f"bad compressed header block: {err}") from None
        if self._zlib.unconsumed_tail:
            raise SpdyError("header block too large")
        return parse_header_block(raw)

    def _control(self, kind: int, flags: int, body: bytes) -> Frame | None:
        fixed = {SYN_STREAM: 10, SYN_REPLY: 4, HEADERS: 4, RST_STREAM: 8, PING: 4, GOAWAY: 8}
        fixed |= {WINDOW_UPDATE: 8, SETTINGS: 4}
        if kind in fixed and len(body) < fixed[kind]:
            raise SpdyError(f"control frame of type {kind} is too short")
        match kind:
            case 1:  # SYN_STREAM
                sid, assoc, prio, slot = struct.unpack_from(">IIBB", body)
                headers = self._headers(body[10:])
                return SynStream(
                    sid & 0x7FFFFFFF, headers, flags, assoc & 0x7FFFFFFF, prio >> 5, slot
                )
            case 2:  # SYN_REPLY
                return SynReply(_id(body), self._headers(body[4:]), flags)
            case 8:  # HEADERS
                return HeadersFrame(_id(body), self._headers(body[4:]), flags)
            case 3:  # RST_STREAM
                return RstStream(_id(body), struct.unpack_from(">I", body, 4)[0])
            case 4:  # SETTINGS
                return _settings(body, flags)
            case 6:  # PING
                return Ping(struct.unpack_from(">I", body)[0])
            case 7:  # GOAWAY
                return GoAway(_id(body), struct.unpack_from(">I", body, 4)[0])
            case 9:  # WINDOW_UPDATE
                return WindowUpdate(_id(body), struct.unpack_from(">I", body, 4)[0] & 0x7FFFFFFF)
        return None


def _id(body: bytes) -> int:
    return int(struct.unpack_from(">I", body)[0] & 0x7FFFFFFF)


def _settings(body: bytes, flags: int) -> Settings:
    (count,) = struct.unpack_from(">I", body)
    if len(body) != 4 + 8 * count:
        raise SpdyError("SETTINGS frame length does not match its count")
    values = {}
    for i in range(count):
        key, value = struct.unpack_from(">II", body, 4 + 8 * i)
        values[key & 0xFFFFFF] = value  # the top 8 bits are per-setting flags
    return Settings(values, flags)
