#!/usr/bin/python3
"""milter-flood - many milter connections at once, as Sendmail opens them.

milter-flood.py SOCKET N: opens N connections to the unix SOCKET at once;
each negotiates, sends the connect step and reads its reply within
TIMEOUT seconds.  As Sendmail does, a connection whose connect step was
not answered "continue" is quit and closed at once; the others stay open
until every connection has its answer (or its time is up).  Prints
"answered=A continued=C tempfailed=T unanswered=U" for scripts: a filter
at its descriptor limit must still answer every connection, refusing
those it has no room for.
"""
import socket
import struct
import sys

from milterwire import packet, read_reply
import threading

TIMEOUT = 30
PROTOCOL = 0x001FFFFF


def one(path, results, i, answered, done):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        s.connect(path)
        s.sendall(packet(b"O", struct.pack(">III", 6, 0x1FF, PROTOCOL)))
        if read_reply(s)[0] != b"O":
            raise ValueError("negotiation")
        s.sendall(packet(b"D", b"C{daemon_name}\0MTA\0"))
        s.sendall(packet(b"C", b"client.example\x004" + struct.pack(">H", 40000) + b"127.77.0.5\0"))
        reply = read_reply(s)[0]
        results[i] = "continued" if reply == b"c" else "tempfailed" if reply == b"t" else "other"
    except (OSError, EOFError, ValueError, struct.error):
        results[i] = "unanswered"
    answered.release()
    if results[i] == "continued":
        done.wait(TIMEOUT * 2)  # held open until all are answered, so that they count at once
    try:
        s.sendall(packet(b"Q"))  # Sendmail's milter_quit after a connect that does not continue
    except OSError:
        pass
    s.close()


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    results = [None] * n
    answered = threading.Semaphore(0)
    done = threading.Event()
    threads = [threading.Thread(target=one, args=(path, results, i, answered, done), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(n):  # every thread answers within TIMEOUT: a reply, or its read timed out
        answered.acquire(timeout=TIMEOUT + 10)
    done.set()
    for t in threads:
        t.join(TIMEOUT)
    results = [r or "unanswered" for r in results]
    count = {k: results.count(k) for k in ("continued", "tempfailed", "other", "unanswered")}
    print("answered=%d continued=%d tempfailed=%d unanswered=%d"
          % (count["continued"] + count["tempfailed"] + count["other"], count["continued"], count["tempfailed"],
             count["unanswered"]))


if __name__ == "__main__":
    main()
