"""python3-websockets, which offers permessage-deflate by default, against
wsgate's compression.

Usage: deflate_client.py BASE_WS_URL COUNT

Checks that /echo negotiates permessage-deflate and echoes text and binary
of several sizes exactly (python compresses what it sends, wsgate what it
answers), then subscribes to "news" on /ws, prints READY, and expects COUNT
publications of about 1 KB in order, data {"n": i, "text": ...}. Prints OK.
"""
import asyncio
import json
import os
import sys

import websockets


async def main(base, count):
    async with websockets.connect(base + "/echo", max_size=2**20) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        assert ext.startswith("permessage-deflate"), ext
        for size in (10, 300, 5000, 100000):
            text = ("wsgate " * (size // 7 + 1))[:size]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 10)
            assert got == text, (size, len(got))
            data = os.urandom(size // 2) + bytes(size - size // 2)
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), 10)
            assert got == data, (size, len(got))
    async with websockets.connect(base + "/ws?channels=news", max_size=2**20) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        assert ext.startswith("permessage-deflate"), ext
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "connected", hello
        print("READY", flush=True)
        for i in range(count):
            m = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert m["type"] == "message" and m["channel"] == "news", m
            assert m["data"]["n"] == i and len(m["data"]["text"]) > 900, m
    print("OK", flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
