#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""An aiortc peer for wkrtc's interop tests, driven over JSON lines on stdin and stdout.

aiortc follows the RFCs more strictly than browsers do: its DTLS offers only ECDHE-ECDSA
suites (RFC 8827, section 6.5), and it checks the peer's certificate against the SDP
fingerprint. Usage: aiortc_peer.py SCENARIO, where SCENARIO is

  echo       wkrtc offers; aiortc answers and echoes every message it receives
  send N     aiortc offers a channel "chat", sends N messages and checks that each comes
             back unchanged and in order
  oversize   aiortc offers, ignores wkrtc's a=max-message-size and sends "before", a
             131,072-byte message, then "after"; it reports whether the channel closed

Lines read: {"type": "offer"|"answer", "sdp"} and {"type": "candidate", "candidate",
"sdpMid", "sdpMLineIndex"}. Lines written: the description, {"type": "dtls", "cipher",
"state"} once DTLS is up, and {"type": "result", ...} at the end. Nothing is sent
anywhere but to the peer: no STUN server is configured.
"""

import asyncio
import json
import sys

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

OVERSIZE = 131072


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def payload(i):
    """The i-th test message: text and binary in turns, of sizes up to 64 KiB."""
    size = [1, 100, 1200, 5000, 16384, 65536][i % 6]
    if i % 2 == 0:
        return (str(i) + ":").ljust(size, "x")[:size]
    return bytes((i + k) % 256 for k in range(size))


async def lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        yield json.loads(line)


def report_dtls(pc):
    """Reports the DTLS cipher once the transport is connected."""
    transport = pc.sctp.transport if pc.sctp else None

    async def watch():
        while transport is not None and transport.state != "connected":
            if transport.state in ("failed", "closed"):
                emit({"type": "dtls", "state": transport.state})
                return
            await asyncio.sleep(0.01)
        ssl = getattr(transport, "_ssl", None) or getattr(transport, "ssl", None)
        cipher = ssl.get_cipher_name() if ssl is not None and hasattr(ssl, "get_cipher_name") else None
        emit({"type": "dtls", "state": "connected", "cipher": cipher})

    return asyncio.ensure_future(watch())


async def run(scenario, count):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    done = asyncio.get_running_loop().create_future()

    if scenario == "echo":
        @pc.on("datachannel")
        def on_datachannel(channel):
            @channel.on("message")
            def on_message(message):
                channel.send(message)
    else:
        channel = pc.createDataChannel("chat")
        expected = [payload(i) for i in range(count)]
        received = []

        @channel.on("open")
        def on_open():
            if scenario == "send":
                for m in expected:
                    channel.send(m)
            else:
                pc.sctp._remote_max_message_size = 0  # ignore the peer's a=max-message-size
                channel.send("before")
                channel.send(bytes(OVERSIZE))
                channel.send("after")

        @channel.on("message")
        def on_message(message):
            received.append(message)
            if scenario == "send" and len(received) == count and not done.done():
                bad = [i for i, (a, b) in enumerate(zip(expected, received)) if a != b]
                done.set_result({"verified": count - len(bad), "first_bad": bad[0] if bad else None})

        @channel.on("close")
        def on_close():
            if not done.done():
                done.set_result({"closed": True, "received": len(received)})

        await pc.setLocalDescription(await pc.createOffer())
        emit({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp})

    watchers = []

    async def handle_lines():
        async for msg in lines():
            if msg["type"] in ("offer", "answer"):
                await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], msg["type"]))
                if msg["type"] == "offer":
                    await pc.setLocalDescription(await pc.createAnswer())
                    emit({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp})
                watchers.append(report_dtls(pc))
            elif msg["type"] == "candidate" and msg.get("candidate"):
                c = candidate_from_sdp(msg["candidate"].removeprefix("candidate:"))
                c.sdpMid, c.sdpMLineIndex = msg.get("sdpMid"), msg.get("sdpMLineIndex")
                await pc.addIceCandidate(c)

    # The test closes stdin when it is done; until then candidates keep coming.
    reading = asyncio.ensure_future(handle_lines())
    if scenario != "echo":
        emit({"type": "result", **(await done)})
    await reading
    for w in watchers:
        w.cancel()
    await pc.close()


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
