"""milterwire - the milter protocol's framing, for the test drivers that
play Sendmail (milter-hostile.py, milter-flood.py): a packet is a 4-byte
big-endian length, a command byte and its data."""
import struct

REPLY_MAX = 1 << 20  # a longer reply is garbage, not something to wait for


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def read_reply(s):
    """The next reply: (command byte, data)."""
    length = struct.unpack(">I", read_exact(s, 4))[0]
    if length < 1 or length > REPLY_MAX:
        raise ValueError(f"reply length {length}")
    body = read_exact(s, length)
    return body[:1], body[1:]
