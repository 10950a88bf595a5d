"""SPDY/3.1 framing and the server session, without a network."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import pytest
from shoal.api.v1 import streams_pb2 as s
from shoal.plugins.gateway import spdy
from shoal.plugins.gateway.spdyexec import ExecSession, _resizes, expected_streams
from shoal.plugins.gateway.spdyforward import check_headers, request_id
from shoal.plugins.gateway.spdysession import Session, Stream

# What kubectl 1.32 (Go's spdystream) sent first on a plain SPDY port-forward
# to port 44493, captured off the wire: SYN_STREAM 1 (the error stream), a
# FIN on it, SYN_STREAM 3 (the data stream). The second header block is
# compressed against the first one's zlib context.
KUBECTL_OPENING = bytes.fromhex(
    "800300010000004000000001000000000000"
    "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45a024cc6a626262"
    "69ccc0c0c0590489c74c50fa663400000000ffff"
    "0000000101000000"
    "800300010000001800000003000000000000c2aa1b54102512a119000000ffff"
)


def test_dictionary_is_spdy3s() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2  # the id in every block's zlib header
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


def test_decodes_what_kubectl_sends() -> None:
    frames = spdy.Decoder().feed(KUBECTL_OPENING)
    headers = {"port": ["44493"], "requestid": ["0"]}
    assert frames == [
        spdy.SynStream(1, {"streamtype": ["error"], **headers}),
        spdy.Data(1, b"", spdy.FLAG_FIN),
        spdy.SynStream(3, {"streamtype": ["data"], **headers}),
    ]


def test_the_second_block_needs_the_first_ones_context() -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(KUBECTL_OPENING[72 + 8 :])


ALL_FRAMES: list[spdy.Frame] = [
    spdy.SynStream(1, {"streamtype": ["error"], "port": ["80"]}, spdy.FLAG_FIN, 0, 7, 0),
    spdy.SynReply(1, {}),
    spdy.SynReply(3, {"a": ["1", "2"]}, spdy.FLAG_FIN),
    spdy.HeadersFrame(1, {"x-more": [""]}),
    spdy.Data(1, b"hello"),
    spdy.Data(1, b"", spdy.FLAG_FIN),
    spdy.RstStream(3, spdy.CANCEL),
    spdy.Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 1 << 20, 4: 100}),
    spdy.Ping(7),
    spdy.GoAway(5, 0),
    spdy.WindowUpdate(0, 65536),
    spdy.WindowUpdate(3, 1),
]


def test_every_frame_round_trips_even_a_byte_at_a_time() -> None:
    encoder = spdy.Encoder()
    raw = b"".join(encoder.encode(f) for f in ALL_FRAMES)
    decoder = spdy.Decoder()
    got = [frame for i in range(len(raw)) for frame in decoder.feed(raw[i : i + 1])]
    assert got == ALL_FRAMES


def test_wire_layout() -> None:
    enc = spdy.Encoder()
    assert enc.encode(spdy.Ping(1)) == bytes.fromhex("8003000600000004 00000001")
    assert enc.encode(spdy.Data(3, b"ab", spdy.FLAG_FIN)) == bytes.fromhex("00000003 01000002 6162")
    assert enc.encode(spdy.RstStream(1, 5)) == bytes.fromhex("8003000300000008 00000001 00000005")
    assert enc.encode(spdy.WindowUpdate(1, 9)) == bytes.fromhex(
        "8003000900000008 00000001 00000009"
    )
    reply = enc.encode(spdy.SynReply(1, {}))
    assert reply[:4] == bytes.fromhex("80030002") and reply[8:12] == bytes.fromhex("00000001")
    # zlib header as Go writes it: best compression, a preset dictionary, its adler32
    assert reply[12:18] == bytes.fromhex("78f9 e3c6a7c2")
    assert reply.endswith(b"\x00\x00\xff\xff")  # sync flush: the block stands on its own


def test_one_compression_context_per_direction() -> None:
    enc = spdy.Encoder()
    headers = {"streamtype": ["data"], "port": ["8080"], "requestid": ["12"]}
    first, second = enc.encode(spdy.SynStream(1, headers)), enc.encode(spdy.SynStream(3, headers))
    assert len(second) < len(first) - 10  # the second refers back into the first
    dec = spdy.Decoder()
    assert dec.feed(first + second) == [spdy.SynStream(1, headers), spdy.SynStream(3, headers)]


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("8002000600000004 00000001"),  # SPDY/2
        bytes.fromhex("00000000 00000001 61"),  # DATA on stream 0
        bytes.fromhex("8003000100000002 0000"),  # SYN_STREAM too short
        bytes.fromhex("8003000400000008 00000002 00000007"),  # SETTINGS count vs length
    ],
)
def test_protocol_errors(raw: bytes) -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(raw)


def test_header_names_must_be_lowercase_and_unique() -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.parse_header_block(spdy.header_block({"a": ["1"]}).replace(b"a", b"A"))
    block = b"\x00\x00\x00\x02" + spdy.header_block({"a": ["1"]})[4:] * 2
    with pytest.raises(spdy.SpdyError):
        spdy.parse_header_block(block)


def test_unknown_control_frames_are_skipped() -> None:
    credential = bytes.fromhex("8003000a00000002 0000")  # CREDENTIAL (type 10)
    assert spdy.Decoder().feed(credential + spdy.Encoder().encode(spdy.Ping(3))) == [spdy.Ping(3)]


class Client:
    """The client end of a Session, in memory."""

    def __init__(self) -> None:
        self.enc, self.dec = spdy.Encoder(), spdy.Decoder()
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.received: asyncio.Queue[spdy.Frame] = asyncio.Queue()
        self.opened: list[Stream] = []

    async def send_to_client(self, data: bytes) -> None:
        for frame in self.dec.feed(data):
            self.received.put_nowait(frame)

    def send(self, *frames: spdy.Frame) -> None:
        for frame in frames:
            self.incoming.put_nowait(self.enc.encode(frame))

    async def chunks(self):  # type: ignore[no-untyped-def]
        while data := await self.incoming.get():
            yield data

    async def next(self) -> spdy.Frame:
        return await asyncio.wait_for(self.received.get(), 5)

    async def accept(self, stream: Stream) -> None:
        self.opened.append(stream)
        await stream.reply()


async def test_session_streams_pings_and_window_updates() -> None:
    c = Client()
    session = Session(c.send_to_client, c.accept)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(spdy.SynStream(1, {"streamtype": ["data"]}), spdy.Ping(1))
    assert await c.next() == spdy.SynReply(1, {})
    assert await c.next() == spdy.Ping(1)  # echoed
    stream = c.opened[0]
    assert stream.header("streamType") == "data"
    c.send(spdy.Data(1, b"x" * 40000))
    assert await stream.read() == b"x" * 40000
    # the consumed bytes are granted again, to the stream and to the session
    assert await c.next() == spdy.WindowUpdate(1, 40000)
    assert await c.next() == spdy.WindowUpdate(0, 40000)
    c.send(spdy.Data(1, b"y", spdy.FLAG_FIN))
    assert await stream.read() == b"y"
    assert await stream.read() == b"" and await stream.read() == b""
    await stream.write(b"back")
    await stream.close()
    assert await c.next() == spdy.Data(1, b"back")
    assert await c.next() == spdy.Data(1, b"", spdy.FLAG_FIN)
    assert 1 not in session.streams  # closed both ways
    c.send(spdy.GoAway(1))
    await asyncio.wait_for(serving, 5)


async def test_session_keeps_the_windows_of_a_client_that_keeps_them() -> None:
    c = Client()
    session = Session(c.send_to_client, c.accept)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(spdy.Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 3}), spdy.SynStream(1, {}))
    assert await c.next() == spdy.SynReply(1, {})
    writing = asyncio.create_task(c.opened[0].write(b"abcdef"))
    assert await c.next() == spdy.Data(1, b"abc")
    assert not writing.done()
    c.send(spdy.WindowUpdate(1, 10))
    assert await c.next() == spdy.Data(1, b"def")
    await asyncio.wait_for(writing, 5)
    c.send(spdy.RstStream(1, spdy.CANCEL))
    assert await c.opened[0].read() == b""  # a reset ends the stream
    await c.opened[0].write(b"dropped")
    c.incoming.put_nowait(b"")
    await asyncio.wait_for(serving, 5)
    assert c.received.empty()


async def test_session_without_windows_is_not_held_to_64k() -> None:
    """Go's spdystream never sends WINDOW_UPDATE: sends must not stall."""
    c = Client()
    session = Session(c.send_to_client, c.accept)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(spdy.SynStream(1, {}))
    assert await c.next() == spdy.SynReply(1, {})
    await asyncio.wait_for(c.opened[0].write(b"z" * 200_000), 5)
    sent = 0
    while sent < 200_000:
        frame = await c.next()
        assert isinstance(frame, spdy.Data)
        sent += len(frame.data)
    c.incoming.put_nowait(b"")
    await asyncio.wait_for(serving, 5)


async def test_a_stream_id_going_backwards_ends_the_session() -> None:
    c = Client()
    session = Session(c.send_to_client, c.accept)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(spdy.SynStream(3, {}), spdy.SynStream(1, {}))
    assert await c.next() == spdy.SynReply(3, {})
    assert await c.next() == spdy.GoAway(3, 1)  # PROTOCOL_ERROR
    await asyncio.wait_for(serving, 5)
    assert await c.opened[0].read() == b""


def _stream(headers: dict[str, str], stream_id: int = 1) -> Stream:
    session = Session(lambda data: asyncio.sleep(0), lambda s: asyncio.sleep(0))
    return Stream(session, stream_id, {k: [v] for k, v in headers.items()})


def test_port_forward_stream_headers() -> None:
    good = {"streamtype": "data", "port": "8080", "requestid": "4"}
    assert check_headers(_stream(good)) == ""
    assert check_headers(_stream({**good, "port": ""})) == '"port" header is required'
    assert "as a port" in check_headers(_stream({**good, "port": "70000"}))
    assert "as a port" in check_headers(_stream({**good, "port": "http"}))
    assert check_headers(_stream({**good, "streamtype": "oops"})) == 'invalid stream type "oops"'
    assert request_id(_stream(good)) == "4"
    # clients without request ids: error stream n and data stream n+2 pair up
    old = {"port": "80"}
    assert request_id(_stream({**old, "streamtype": "error"}, 5)) == "5"
    assert request_id(_stream({**old, "streamtype": "data"}, 7)) == "5"


def test_exec_streams_the_client_must_open() -> None:
    start = s.ExecStart(stdin=True, tty=True)
    assert expected_streams(start, True, True, "v4.channel.k8s.io") == {
        "error",
        "stdin",
        "stdout",
        "resize",
    }  # fmt: skip  (a tty has no separate stderr)
    assert expected_streams(start, True, True, "v2.channel.k8s.io") == {"error", "stdin", "stdout"}
    plain = s.ExecStart()
    assert expected_streams(plain, True, True, "v4.channel.k8s.io") == {"error", "stdout", "stderr"}


async def test_exec_resizes_arrive_as_json_objects_one_after_another() -> None:
    c = Client()
    session = Session(c.send_to_client, c.accept)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(spdy.SynStream(1, {"streamtype": ["resize"]}))
    assert await c.next() == spdy.SynReply(1, {})
    inputs: asyncio.Queue[s.ExecInput | None] = asyncio.Queue()
    reading = asyncio.create_task(_resizes(c.opened[0], inputs))
    c.send(
        spdy.Data(1, b'{"Width":80,"Height":24}\n{"Width":1'), spdy.Data(1, b'00,"Height":50}\n')
    )
    c.send(spdy.Data(1, b"", spdy.FLAG_FIN))
    await asyncio.wait_for(reading, 5)
    sizes = [inputs.get_nowait().resize for _ in range(inputs.qsize())]  # type: ignore[union-attr]
    assert [(z.width, z.height) for z in sizes] == [(80, 24), (100, 50)]
    c.incoming.put_nowait(b"")
    await asyncio.wait_for(serving, 5)


class ExitingStub:
    """Streams.Exec that prints and exits 3."""

    def Exec(self, requests: Any) -> Any:
        async def replies() -> Any:
            await anext(aiter(requests))
            yield s.ExecOutput(stdout=b"out\n")
            yield s.ExecOutput(exit_code=3)

        return replies()


@pytest.mark.parametrize(
    ("protocol", "error_text"),
    [
        ("v4.channel.k8s.io", '"reason": "NonZeroExitCode"'),  # a JSON Status with the code
        ("v2.channel.k8s.io", "command terminated with non-zero exit code: 3"),  # plain text
    ],
)
async def test_exec_reports_on_the_error_stream(protocol: str, error_text: str) -> None:
    c = Client()
    start = s.ExecStart(command=["x"])
    ex = ExecSession(ExitingStub(), start, expected_streams(start, True, False, protocol))
    ex.protocol = protocol
    session = Session(c.send_to_client, ex.opened)
    serving = asyncio.create_task(session.serve(c.chunks()))
    c.send(
        spdy.SynStream(1, {"streamtype": ["error"]}), spdy.SynStream(3, {"streamtype": ["stdout"]})
    )
    await asyncio.wait_for(ex.run(), 5)
    frames = [await c.next() for _ in range(6)]
    assert frames[:2] == [spdy.SynReply(1, {}), spdy.SynReply(3, {})]
    assert frames[2] == spdy.Data(3, b"out\n")
    assert isinstance(frames[3], spdy.Data) and frames[3].stream_id == 1
    assert error_text in frames[3].data.decode()
    assert frames[4:] == [spdy.Data(1, b"", spdy.FLAG_FIN), spdy.Data(3, b"", spdy.FLAG_FIN)]
    c.incoming.put_nowait(b"")
    await asyncio.wait_for(serving, 5)
