#!/usr/bin/env python3
"""syslog-catcher SOCKET FILE: a stand-in for the syslog daemon's /dev/log.

Receives the datagrams syslog(3) sends to SOCKET and appends each, as one
line, to FILE, so that a test can read what hostmilter wrote to syslog.
A real daemon (rsyslog, journald) is not on every test machine, and a
test must not read or disturb the host's own log.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as log:
    while True:
        data = sock.recv(65536)
        log.write(data.rstrip(b"\n") + b"\n")
