#!/usr/bin/python3
"""fake-scanner - a FAKE scanner node that misbehaves on demand.

Used only to inject faults a real clamd or spamd cannot produce at will:
  silent   accept, read, never answer
  close    read a few bytes, then close the connection mid-stream
  garbage  read the request, answer bytes that are no protocol at all
Usage: fake-scanner.py MODE PORT   (listens on 127.0.0.1:PORT until killed)
"""
import socket
import sys
import threading
import time


def serve(conn, mode):
    try:
        conn.settimeout(30)
        if mode == "close":
            conn.recv(16)
            return
        data = b""
        while mode == "garbage" and len(data) < 8:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        if mode == "garbage":
            conn.sendall(b"\x00\xff HELLO? \x07\r\n\r\n{not json\x00")
            return
        while conn.recv(65536):      # silent: swallow everything, answer nothing
            pass
        time.sleep(3600)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
