#!/usr/bin/python3
"""session - an SMTP session that pauses to let the test act in the middle.

session.py PORT SOURCE SIGNAL PID WHEN [LOG PATTERN]: opens a session, and
at WHEN ("after-mail" or "mid-body") sends SIGNAL to PID, then waits until
the signal has had its effect: for SIGKILL until PID is gone, else, when
LOG is given, until one more line of LOG matches PATTERN (a regular
expression) than before the signal; at most 60 s, never for a fixed time.
Then it finishes the message.  Prints the reply to each step, as
smtp-probe does, "WAITED" or "TIMEOUT" for the wait, and "ALIVE" or "GONE"
for PID just before the message is finished.
"""
import os
import re
import signal
import smtplib
import sys
import time

DEADLINE = 60


def matches(log, pattern):
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if re.search(pattern, line))
    except OSError:
        return 0


def until(condition):
    """Polls condition until it holds or DEADLINE passes; prints the outcome."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            print("TIMEOUT")
            return
        time.sleep(0.05)
    print("WAITED")


def signal_and_wait(pid, sig, log, pattern):
    before = matches(log, pattern) if log else 0
    os.kill(pid, sig)
    if sig == signal.SIGKILL:
        until(lambda: alive(pid) == "GONE")
    elif log:
        until(lambda: matches(log, pattern) > before)


def alive(pid):
    try:
        os.kill(pid, 0)
        return "ALIVE"
    except OSError:
        return "GONE"


def main():
    port, source, signame, pid, when = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    log, pattern = (sys.argv[6], sys.argv[7]) if len(sys.argv) > 7 else (None, None)
    sig = getattr(signal, signame)
    s = smtplib.SMTP("127.0.0.1", int(port), source_address=(source, 0), timeout=60,
                     local_hostname="client.example")
    s.ehlo()
    code, msg = s.mail("sender@client.example")
    print("MAIL", code)
    if when == "after-mail":
        signal_and_wait(pid, sig, log, pattern)
    code, msg = s.rcpt("info@example.com")
    print("RCPT", code)
    code, msg = s.docmd("DATA")
    print("DATA-GO", code)
    s.send(b"From: <sender@client.example>\r\nSubject: paused\r\n\r\nfirst half\r\n")
    if when == "mid-body":
        signal_and_wait(pid, sig, log, pattern)
    print(alive(pid))
    s.send(b"second half\r\n.\r\n")
    code, msg = s.getreply()
    print("DATA", code, msg.decode("utf-8", "replace").splitlines()[0])
    s.quit()


if __name__ == "__main__":
    main()
