#!/usr/bin/env python3
"""http-hostile PORT: garbage at hostmilter's statistics endpoint.

Each case sends what a broken or hostile client might, then checks that a
well-behaved GET /metrics is answered again within SCRAPE_DEADLINE
seconds (tried until then, never after a guessed pause).
Prints "ok NAME" or "FAIL NAME: why" per case, as milter-hostile.py does.
"""
import os
import random
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
SCRAPE_DEADLINE = 30  # seconds; the endpoint's own limit per client is 10
rng = random.Random(20261122)


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    return s


def send_and_drain(data, wait=2.0):
    """Sends data, reads whatever comes back until close or timeout."""
    s = connect()
    try:
        s.sendall(data)
    except OSError:
        pass
    s.settimeout(wait)
    got = b""
    try:
        while len(got) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    s.close()
    return got


def scrape():
    got = send_and_drain(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n", wait=5)
    return got.startswith(b"HTTP/1.0 200") or got.startswith(b"HTTP/1.1 200")


def scrape_until(deadline):
    while True:
        try:
            if scrape():
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def case(name, action):
    held = None
    try:
        held = action()
    except OSError:
        pass  # the endpoint may close on us: that is its right
    start = time.monotonic()
    ok = scrape_until(start + SCRAPE_DEADLINE)
    for s in held or []:
        s.close()
    if ok:
        print("ok %s (scraped in %.2f s)" % (name, time.monotonic() - start))
    else:
        print("FAIL %s: GET /metrics not answered within %d s" % (name, SCRAPE_DEADLINE))


def random_bytes():
    for _ in range(20):
        send_and_drain(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))), wait=0.3)


def huge_header():
    send_and_drain(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 200000 + b"\r\n\r\n")


def many_headers():
    send_and_drain(b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n")


def huge_url():
    send_and_drain(b"GET /" + b"m" * 100000 + b" HTTP/1.1\r\n\r\n")


def bad_lengths():
    for cl in (b"-1", b"99999999999999999999", b"abc", b"5, 6"):
        send_and_drain(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + b"\r\n\r\nhello", wait=0.5)
    send_and_drain(b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx",
                   wait=0.5)


def pipelined():
    send_and_drain(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 200 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def stalled_beyond_limit():
    """More silent clients than the endpoint serves at once, held open: the
    endpoint must drop them by itself (after 10 s), or no scrape follows."""
    held = [connect() for _ in range(12)]
    for s in held[:6]:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
    return held  # closed only after the scrape


def trickling():
    """As many clients as the endpoint serves, each sending a header line a
    second for 60 s: never silent, so a timeout of silence never fires.
    Each client's total time must be bounded, or no scrape follows."""
    held = [connect() for _ in range(8)]
    for s in held:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")

    def trickle():
        end = time.monotonic() + 60
        for i in range(60):
            if time.monotonic() > end:
                return
            for s in held:
                try:
                    s.sendall(b"X-Trickle-%d: y\r\n" % i)
                except OSError:
                    pass  # cut off, or closed after the scrape
            time.sleep(1)

    threading.Thread(target=trickle, daemon=True).start()
    return held


def aborted_many():
    """300 connections given up half-way: whatever libmicrohttpd makes of them,
    the log must not grow a line per connection (t-hostile-milter counts)."""
    for i in range(300):
        try:
            s = connect()
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Half: " if i % 2 else b"\x16\x03\x01garbage\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # a reset, not a goodbye
        except OSError:
            pass


def half_closed():
    s = connect()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    s.close()  # gone before the answer


def nul_and_controls():
    send_and_drain(b"GET /metrics\x00 HTTP/1.1\r\nHost: \x01\x02\x7f\r\n\r\n")
    send_and_drain(b"\r\n" * 10000)


for name, action in [("random bytes", random_bytes), ("a 200 KB header line", huge_header),
                     ("5000 header lines", many_headers), ("a 100 KB URL", huge_url),
                     ("lying Content-Length and chunk sizes", bad_lengths), ("200 pipelined requests", pipelined),
                     ("12 clients stalled past the timeout (limit 8)", stalled_beyond_limit),
                     ("8 clients trickling a header line a second", trickling),
                     ("300 connections aborted half-way", aborted_many),
                     ("a client gone before the answer", half_closed), ("NUL bytes and bare CRLFs", nul_and_controls)]:
    case(name, action)
