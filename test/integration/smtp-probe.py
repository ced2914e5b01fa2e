#!/usr/bin/python3
"""smtp-probe - one SMTP transaction against a real server, one line per step.

Prints "EHLO 250", "AUTH 235 ...", "MAIL 250 ...", "RCPT <addr> 550 5.7.1 ...",
"DATA 250 ..." -- code, enhanced code and text of each reply -- so that the
integration tests can compare what Sendmail (with hostmilter) answered.
Stops after the first step that is refused, like a real client would.
With --tls-cert and --tls-key it says STARTTLS first and shows that client
certificate (the server's own is not checked: a test CA signs it).
--rset-after-rcpt aborts the transaction after its RCPTs with RSET and runs
it again, whole, in the same connection.  --hold FILE holds the connection
open at --hold-at (after the RCPTs, or after the whole message): it prints
"HELD", waits until FILE exists (at most 120 s, else "TIMEOUT"), then says
RSET (after the RCPTs) and, with --again, runs the transaction again in the
same connection -- what a test needs to act while a client waits.
"""
import os
import subprocess
import time
import argparse
import smtplib
import ssl
import sys


def first_line(msg):
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return text.splitlines()[0] if text else ""


def body(size):
    line = b"x" * 78 + b"\r\n"
    count = max(1, size // len(line))
    return line * count


def rcpt_to(s, rcpt):
    """RCPT TO:<rcpt> as given (smtplib's quoting would rewrite source routes and quoted local
    parts); "hex:6dfc..." sends those bytes as the address (8-bit, which smtplib refuses)."""
    if not rcpt.startswith("hex:"):
        return s.docmd("RCPT", "TO:<%s>" % rcpt)
    s.send(b"RCPT TO:<" + bytes.fromhex(rcpt[4:]) + b">\r\n")
    return s.getreply()


def starttls(s, cert, key):
    """STARTTLS showing a client certificate; prints "STARTTLS 220" and EHLOs again."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    code, msg = s.starttls(context=ctx)
    print("STARTTLS", code)
    s.ehlo()


def transaction(s, a):
    """MAIL, the RCPTs and DATA, as far as the replies and --quit-after let it go."""
    options = " SIZE=%d" % a.size if a.size is not None else ""
    code, msg = s.docmd("MAIL", "FROM:<%s>%s" % (a.sender, options))
    print("MAIL", code, first_line(msg))
    if code >= 400 or a.quit_after == "mail":
        return
    accepted = 0
    for rcpt in a.to:
        code, msg = rcpt_to(s, rcpt)
        print("RCPT", "<%s>" % rcpt, code, first_line(msg))
        accepted += code < 400
    if not accepted or a.quit_after == "rcpt":
        return
    if a.message:
        with open(a.message, "rb") as f:
            message = f.read()
    else:
        message = (b"From: <" + a.sender.encode() + b">\r\nTo: <" + a.to[0].encode("utf-8", "replace") +
                   b">\r\nSubject: " + a.subject.encode() + b"\r\n\r\n" + body(a.body_bytes))
    try:
        code, msg = s.data(message)
    except smtplib.SMTPDataError as e:
        code, msg = e.smtp_code, e.smtp_error
    print("DATA", code, first_line(msg))


def hold(s, a):
    """The first transaction as far as --hold-at, then wait for the test's file."""
    quit_after = a.quit_after
    if a.hold_at == "rcpt":
        a.quit_after = "rcpt"
    transaction(s, a)
    a.quit_after = quit_after
    print("HELD", flush=True)
    end = time.monotonic() + 120
    while not os.path.exists(a.hold):
        if time.monotonic() > end:
            print("TIMEOUT", flush=True)
            break
        time.sleep(0.05)
    if a.hold_at == "rcpt":
        code, msg = s.rset()
        print("RSET", code, first_line(msg))


def login(s, user, password):
    """AUTH; a 535 for an account the test made is retried once after making it again.

    /etc/sasldb2 is the machine's: a test of the same accounts running from
    another checkout deletes them when it ends, whatever this one is doing.
    """
    for attempt in range(2):
        try:
            return s.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            if attempt or e.smtp_code != 535 or not os.environ.get("HM_SASL_REPAIR"):
                return e.smtp_code, e.smtp_error
            realm = subprocess.run(["hostname", "-f"], capture_output=True, text=True).stdout.strip()
            subprocess.run(["saslpasswd2", "-p", "-c", "-u", realm, user], input=password.encode(), check=False)
    return 535, b"unreachable"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--source", default="127.0.0.1")
    p.add_argument("--auth")
    p.add_argument("--from", dest="sender", default="sender@client.example")
    p.add_argument("--size", type=int)
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--body-bytes", type=int, default=200)
    p.add_argument("--quit-after", choices=["mail", "rcpt"])
    p.add_argument("--message", help="send this file as the message (headers and body)")
    p.add_argument("--subject", default="probe", help="the Subject of the generated message")
    p.add_argument("--tls-cert", help="STARTTLS first, with this client certificate (PEM)")
    p.add_argument("--tls-key", help="... and its key")
    p.add_argument("--rset-after-rcpt", action="store_true",
                   help="RSET after the RCPTs, then the whole transaction again")
    p.add_argument("--hold", help="hold the connection open until this file exists")
    p.add_argument("--hold-at", choices=["rcpt", "end"], default="rcpt")
    p.add_argument("--again", action="store_true", help="after --hold, the whole transaction again")
    a = p.parse_args()
    try:
        s = smtplib.SMTP("127.0.0.1", a.port, source_address=(a.source, 0), timeout=60,
                         local_hostname="client.example")
        code, msg = s.ehlo()
        print("EHLO", code)
        if a.tls_cert:
            starttls(s, a.tls_cert, a.tls_key)
        if a.auth:
            user, password = a.auth.split(":", 1)
            code, msg = login(s, user, password)
            print("AUTH", code, first_line(msg))
            if code >= 400:
                return
        if a.rset_after_rcpt:
            quit_after, a.quit_after = a.quit_after, "rcpt"
            transaction(s, a)
            code, msg = s.rset()
            print("RSET", code, first_line(msg))
            a.quit_after = quit_after
        if a.hold:
            hold(s, a)
            if not a.again:
                s.quit()
                return
        transaction(s, a)
        s.quit()
    except smtplib.SMTPServerDisconnected as e:
        print("DISCONNECT", e)
    except (OSError, smtplib.SMTPException) as e:
        print("ERROR", e)


if __name__ == "__main__":
    sys.exit(main())
