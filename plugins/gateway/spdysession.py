"""The server end of one SPDY/3.1 connection: streams the client opens,
pings, GOAWAY and flow control, over any byte pipe (an upgraded HTTP
connection, or binary WebSocket messages that tunnel SPDY).

Flow control: we grant the client more window (WINDOW_UPDATE, per stream
and for the session) as the handler consumes what it sent. We honour the
client's windows only once it shows it keeps them: Go's spdystream, which
kubectl and client-go use, implements SPDY/3 without flow control. It
neither sends WINDOW_UPDATE nor SETTINGS_INITIAL_WINDOW_SIZE (it drops them
as unhandled frames), so holding our sends to an initial 64 KiB window would
stall every port-forward after 64 KiB. Instead, what the client sends is
bounded by backpressure: the reader stops reading the connection while a
stream holds more than STREAM_BUFFER bytes its handler has not taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable

import structlog
from shoal.plugins.gateway import spdy

log = structlog.get_logger("gateway.spdy")
Send = Callable[[bytes], Awaitable[None]]
STREAM_BUFFER = 1024 * 1024
MAX_DATA_FRAME = 32 * 1024


class Stream:
    """One stream the client opened; ``read`` returns b"" once the client
    finished (FIN) or reset it."""

    def __init__(self, session: Session, stream_id: int, headers: spdy.Headers) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.send_window = session.initial_send_window
        self.remote_done = False  # FIN or RST from the client
        self.local_done = False  # we sent FIN or RST
        self.was_reset = False
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._buffered = 0
        self._drained = asyncio.Event()
        self._unacked = 0  # bytes read that no WINDOW_UPDATE has granted again

    def header(self, name: str) -> str:
        return (self.headers.get(name.lower()) or [""])[0]

    async def reply(self) -> None:
        await self.session.send(spdy.SynReply(self.id, {}))

    async def read(self) -> bytes:
        data = await self._chunks.get()
        if not data:
            self._chunks.put_nowait(b"")  # every later read sees the end too
            return b""
        self._buffered -= len(data)
        if self._buffered <= STREAM_BUFFER:
            self._drained.set()
        await self._grant(len(data))
        return data

    async def _grant(self, size: int) -> None:
        self._unacked += size
        if self._unacked >= spdy.DEFAULT_WINDOW // 2 and not self.remote_done:
            delta, self._unacked = self._unacked, 0
            await self.session.send(spdy.WindowUpdate(self.id, delta))
            await self.session.send(spdy.WindowUpdate(0, delta))

    async def write(self, data: bytes) -> None:
        """Send data; dropped once the stream is closed or reset (the other
        side no longer wants it, as when kubectl resets a finished stream)."""
        view = memoryview(data)
        while view and not self.local_done:
            size = await self.session.reserve(self, min(len(view), MAX_DATA_FRAME))
            if self.local_done:
                return
            await self.session.send(spdy.Data(self.id, bytes(view[:size])))
            view = view[size:]

    async def close(self) -> None:
        """Half-close: FIN, no more data from us."""
        if not self.local_done:
            self.local_done = True
            await self.session.send(spdy.Data(self.id, b"", spdy.FLAG_FIN))
            self.session.forget(self)

    async def reset(self, status: int = spdy.CANCEL) -> None:
        if not self.local_done or not self.remote_done:
            self.local_done = True
            self._end_remote()
            await self.session.send(spdy.RstStream(self.id, status))
        self.session.forget(self)

    async def _receive(self, data: bytes, fin: bool) -> None:
        if data and not self.remote_done:
            self._buffered += len(data)
            self._chunks.put_nowait(data)
        if fin:
            self._end_remote()
        elif self._buffered > STREAM_BUFFER:
            self._drained.clear()
            await self._drained.wait()  # backpressure: stop reading the connection

    def _end_remote(self) -> None:
        if not self.remote_done:
            self.remote_done = True
            self._chunks.put_nowait(b"")
        self._drained.set()

    def _reset_by_peer(self) -> None:
        self.was_reset = True
        self.local_done = True
        self._end_remote()


StreamHandler = Callable[[Stream], Awaitable[None]]


class Session:
    """Reads frames from ``chunks`` and hands each new stream to ``opened``,
    which must answer it quickly (``reply`` or ``reset``) and do its work in
    tasks of its own."""

    def __init__(self, send: Send, opened: StreamHandler) -> None:
        self._send_bytes = send
        self._opened = opened
        self._encoder = spdy.Encoder()
        self._decoder = spdy.Decoder()
        self._lock = asyncio.Lock()  # one compressor: encode and send in one order
        self.streams: dict[int, Stream] = {}
        self.last_stream_id = 0
        self.flow_control = False
        self.initial_send_window = spdy.DEFAULT_WINDOW
        self.session_send_window = spdy.DEFAULT_WINDOW
        self._window = asyncio.Condition()
        self._finished = asyncio.Event()
        self.broken = False

    async def send(self, frame: spdy.Frame) -> None:
        if self.broken:
            return
        async with self._lock:
            try:
                await self._send_bytes(self._encoder.encode(frame))
            except (ConnectionError, RuntimeError):
                self.broken = True  # the client went away; readers see the end

    def forget(self, stream: Stream) -> None:
        if stream.local_done and stream.remote_done:
            self.streams.pop(stream.id, None)

    async def reserve(self, stream: Stream, wanted: int) -> int:
        """How much of ``wanted`` the client's windows allow now (waits for
        room when the client keeps windows)."""
        if not self.flow_control:
            return wanted
        async with self._window:
            await self._window.wait_for(
                lambda: stream.local_done or min(stream.send_window, self.session_send_window) > 0
            )
            size = min(wanted, stream.send_window, self.session_send_window)
            stream.send_window -= size
            self.session_send_window -= size
            return max(size, 0)

    async def finish(self) -> None:
        """Our side is done (an exec's command ended): GOAWAY, and ``serve``
        returns, which closes the connection."""
        await self.send(spdy.GoAway(self.last_stream_id, 0))
        self._finished.set()

    async def serve(self, chunks: AsyncIterable[bytes]) -> None:
        reading = asyncio.create_task(self._read(chunks))
        finished = asyncio.create_task(self._finished.wait())
        try:
            await asyncio.wait({reading, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, finished):
                task.cancel()
            await asyncio.gather(reading, finished, return_exceptions=True)

    async def _read(self, chunks: AsyncIterable[bytes]) -> None:
        try:
            async for chunk in chunks:
                for frame in self._decoder.feed(chunk):
                    if not await self._handle(frame):
                        return
        except spdy.SpdyError as err:
            log.info("spdy protocol error", error=str(err))
            await self.send(spdy.GoAway(self.last_stream_id, 1))  # PROTOCOL_ERROR
        finally:
            for stream in list(self.streams.values()):
                stream._reset_by_peer()
            self.streams.clear()
            async with self._window:
                self._window.notify_all()

    async def _handle(self, frame: spdy.Frame) -> bool:
        """False when the client is going away."""
        match frame:
            case spdy.SynStream():
                await self._syn_stream(frame)
            case spdy.Data():
                stream = self.streams.get(frame.stream_id)
                if stream is not None:
                    await stream._receive(frame.data, bool(frame.flags & spdy.FLAG_FIN))
                    self.forget(stream)
                elif frame.stream_id > self.last_stream_id:
                    await self.send(spdy.RstStream(frame.stream_id, spdy.INVALID_STREAM))
            case spdy.RstStream():
                stream = self.streams.pop(frame.stream_id, None)
                if stream is not None:
                    stream._reset_by_peer()
                    async with self._window:
                        self._window.notify_all()
            case spdy.Ping() if frame.ping_id % 2 == 1:  # the client's; ours would be even
                await self.send(frame)
            case spdy.Settings():
                await self._settings(frame)
            case spdy.WindowUpdate():
                await self._window_update(frame)
            case spdy.GoAway():
                return False
        return True  # SYN_REPLY and HEADERS: we open no streams, and ignore headers

    async def _syn_stream(self, frame: spdy.SynStream) -> None:
        if frame.stream_id % 2 == 0 or frame.stream_id <= self.last_stream_id:
            raise spdy.SpdyError(f"invalid new stream id {frame.stream_id}")
        self.last_stream_id = frame.stream_id
        stream = Stream(self, frame.stream_id, frame.headers)
        self.streams[stream.id] = stream
        if frame.flags & (spdy.FLAG_FIN | spdy.FLAG_UNIDIRECTIONAL):
            stream._end_remote()
        await self._opened(stream)

    async def _settings(self, frame: spdy.Settings) -> None:
        window = frame.values.get(spdy.SETTINGS_INITIAL_WINDOW_SIZE)
        if window is None:
            return
        self.flow_control = True
        async with self._window:
            delta = window - self.initial_send_window
            self.initial_send_window = window
            for stream in self.streams.values():
                stream.send_window += delta
            self._window.notify_all()

    async def _window_update(self, frame: spdy.WindowUpdate) -> None:
        self.flow_control = True
        async with self._window:
            if frame.stream_id == 0:
                self.session_send_window += frame.delta
            elif (stream := self.streams.get(frame.stream_id)) is not None:
                stream.send_window += frame.delta
            self._window.notify_all()
