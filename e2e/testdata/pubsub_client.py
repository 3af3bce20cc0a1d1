"""A third-party client (python3-websockets) for wsgate's pub/sub protocol.

Usage: pubsub_client.py WS_URL COUNT

Subscribes to "news" at the handshake, checks the connected frame the
server sends first, subscribes to "chat.room.42" with a frame, prints READY, then expects COUNT messages on each channel, in order, with
data {"n": i}; then unsubscribes from "news" with an id, prints UNSUBSCRIBED,
and expects exactly one more message, on "chat.room.42", with data "last".
Exits 0 and prints OK when everything matched.
"""
import asyncio
import json
import sys

import websockets


async def main(url, count):
    async with websockets.connect(url + "?channels=news", max_size=2**20) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert set(hello) == {"type", "client", "node", "version", "ping_interval_ms"}, hello
        assert hello["type"] == "connected", hello
        for k in ("client", "node", "version"):
            assert isinstance(hello[k], str) and hello[k], hello
        assert type(hello["ping_interval_ms"]) is int and hello["ping_interval_ms"] > 0, hello
        await ws.send(json.dumps({"type": "subscribe", "channel": "chat.room.42", "id": 1}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack == {"type": "ack", "id": 1}, ack
        print("READY", flush=True)
        want = {"news": 0, "chat.room.42": 0}
        while want["news"] < count or want["chat.room.42"] < count:
            m = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert m["type"] == "message", m
            ch = m["channel"]
            assert m["data"] == {"n": want[ch]}, (m, want)
            want[ch] += 1
        await ws.send(json.dumps({"type": "unsubscribe", "channel": "news", "id": "u"}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack == {"type": "ack", "id": "u"}, ack
        print("UNSUBSCRIBED", flush=True)
        m = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert m == {"type": "message", "channel": "chat.room.42", "data": "last"}, m
        print("OK", flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
