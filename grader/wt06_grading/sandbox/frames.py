"""Length-prefixed frames: how the worker, the zygote and a job talk over pipes.

A frame is a 4-byte big-endian length and that many bytes. Reading refuses a frame
longer than the caller allows, so a job that writes without end costs the reader
nothing but the bytes it agreed to take.
"""

from __future__ import annotations

import json
import os
import struct

_HEADER = struct.Struct(">I")


class FrameError(EOFError):
    """The other side closed the pipe or sent something that is not a frame."""


def write_frame(fd: int, payload: bytes) -> None:
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise FrameError("the pipe was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limit: int = 256 << 20) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if size > limit:
        raise FrameError(f"a frame of {size} bytes is larger than the {limit} allowed")
    return _read_exactly(fd, size)


def write_json(fd: int, message: dict) -> None:
    write_frame(fd, json.dumps(message, separators=(",", ":")).encode())


def read_json(fd: int, limit: int = 256 << 20) -> dict:
    return json.loads(read_frame(fd, limit))
