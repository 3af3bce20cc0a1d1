#!/usr/bin/env python3
"""Echo interop client for reactor/echo_interop_test.go.

Usage: echo_client.py ws://HOST:PORT/echo

Uses python3-websockets (asyncio API, 10.x or later) as an independent
client implementation. It sends text and binary messages of every boundary
size from 0 B to 1 MiB, each whole and then fragmented (websockets sends an
iterator of fragments as one fragmented message), then a burst of small
messages without waiting for the echoes, checks every echo byte for byte
and type for type, and closes with 1000. On success it prints

    ok N messages
    close 1000

and exits 0; on any mismatch it prints the reason to stderr and exits 1.
"""

import asyncio
import random
import sys

import websockets

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]
BURST = 200
PIECES = "a\u00e9\u20ac\U0001F600Z\u0436 \U0010FFFF\u07FF\uE000"


def text_payload(n):
    """A str whose UTF-8 encoding is exactly n bytes, mixing 1- to 4-byte code points."""
    out = []
    size = 0
    i = 0
    while size < n:
        piece = PIECES[i % len(PIECES)]
        width = len(piece.encode("utf-8"))
        if size + width > n:
            piece, width = "x", 1
        out.append(piece)
        size += width
        i += 1
    return "".join(out)


def fragments(message, rng):
    """Split message at random points into at least one (possibly empty) piece."""
    if len(message) < 2:
        return [message[:0], message]
    count = rng.randint(2, 8)
    cuts = sorted(rng.randrange(0, len(message) + 1) for _ in range(count - 1))
    bounds = [0] + cuts + [len(message)]
    return [message[a:b] for a, b in zip(bounds, bounds[1:])]


def check(echo, message, what):
    if type(echo) is not type(message):
        raise AssertionError(f"{what}: echo is {type(echo).__name__}, sent {type(message).__name__}")
    if echo != message:
        raise AssertionError(f"{what}: echo of {len(echo)} differs from the {len(message)} sent")


async def run(url):
    rng = random.Random(6455)
    count = 0
    async with websockets.connect(
        url,
        max_size=2 << 20,
        compression=None,
        open_timeout=10,
        close_timeout=10,
        ping_interval=None,
    ) as ws:
        for fragmented in (False, True):
            for size in SIZES:
                for kind in ("text", "binary"):
                    message = text_payload(size) if kind == "text" else rng.randbytes(size)
                    what = f"{kind} {size} B {'fragmented' if fragmented else 'whole'}"
                    if fragmented:
                        await ws.send(iter(fragments(message, rng)))
                    else:
                        await ws.send(message)
                    check(await asyncio.wait_for(ws.recv(), 30), message, what)
                    count += 1

        burst = []
        for i in range(BURST):
            size = rng.randrange(0, 2000)
            burst.append(text_payload(size) if i % 2 else rng.randbytes(size))
        for message in burst:
            await ws.send(message)
        for i, message in enumerate(burst):
            check(await asyncio.wait_for(ws.recv(), 30), message, f"burst message {i}")
            count += 1

        await ws.close(code=1000)
        code = ws.close_code
    print(f"ok {count} messages")
    print(f"close {code}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        asyncio.run(run(sys.argv[1]))
    except Exception as e:  # report any failure as a test failure
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
