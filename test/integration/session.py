#!/usr/bin/python3
"""session - an SMTP session that pauses to let the test act in the middle.

session.py PORT SOURCE SIGNAL PID WHEN: opens a session, and at WHEN
("after-mail" or "mid-body") sends SIGNAL to PID, waits a moment, then
finishes the message.  Prints the reply to each step, as smtp-probe does,
and "ALIVE" or "GONE" for PID just before the message is finished.
"""
import os
import signal
import smtplib
import sys
import time


def alive(pid):
    try:
        os.kill(pid, 0)
        return "ALIVE"
    except OSError:
        return "GONE"


def main():
    port, source, signame, pid, when = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    sig = getattr(signal, signame)
    s = smtplib.SMTP("127.0.0.1", int(port), source_address=(source, 0), timeout=60,
                     local_hostname="client.example")
    s.ehlo()
    code, msg = s.mail("sender@client.example")
    print("MAIL", code)
    if when == "after-mail":
        os.kill(pid, sig)
        time.sleep(0.5)
    code, msg = s.rcpt("info@example.com")
    print("RCPT", code)
    code, msg = s.docmd("DATA")
    print("DATA-GO", code)
    s.send(b"From: <sender@client.example>\r\nSubject: paused\r\n\r\nfirst half\r\n")
    if when == "mid-body":
        os.kill(pid, sig)
        time.sleep(1.0)
    print(alive(pid))
    s.send(b"second half\r\n.\r\n")
    code, msg = s.getreply()
    print("DATA", code, msg.decode("utf-8", "replace").splitlines()[0])
    s.quit()


if __name__ == "__main__":
    main()
