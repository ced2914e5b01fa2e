#!/usr/bin/python3
"""soak-client - mail at a steady rate through sendmail, for test/bench/soak.

soak-client.py PORT SECONDS RATE MSGDIR: sends RATE messages a second for
SECONDS, cycling through clean.eml (to be accepted, 250), infected.eml
(554) and gtube-free spam-free text.eml (250), each on its own SMTP
connection from 127.0.0.5.  Prints one line a minute
"t=SECONDS sent=N errors=N" and at the end "total sent=N errors=N", where
an error is any reply other than the expected one or a connection that
failed.  Sending falls behind rather than bursting when sendmail is slow.
"""
import smtplib
import sys
import time

KINDS = [("clean.eml", 250), ("infected.eml", 554), ("text.eml", 250)]


def send_one(port, message, want):
    try:
        with smtplib.SMTP("127.0.0.1", port, source_address=("127.0.0.5", 0), timeout=120,
                          local_hostname="client.example") as s:
            s.ehlo()
            s.mail("sender@client.example")
            code, _ = s.rcpt("info@example.com")
            if code != 250:
                return f"RCPT {code}"
            code, _ = s.data(message)
            return None if code == want else f"DATA {code}"
    except smtplib.SMTPDataError as e:
        return None if e.smtp_code == want else f"DATA {e.smtp_code}"
    except (OSError, smtplib.SMTPException) as e:
        return f"{type(e).__name__}: {e}"


def main():
    port, seconds, rate, msgdir = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    messages = [(open(f"{msgdir}/{name}", "rb").read(), want) for name, want in KINDS]
    start = time.monotonic()
    sent = errors = 0
    next_report = 60
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) + 1
        while sent < due:
            message, want = messages[sent % len(messages)]
            why = send_one(port, message, want)
            sent += 1
            if why:
                errors += 1
                print(f"error at t={int(elapsed)}: {why}", flush=True)
        if elapsed >= next_report:
            print(f"t={int(elapsed)} sent={sent} errors={errors}", flush=True)
            next_report += 60
        time.sleep(max(0.0, (sent / rate) - (time.monotonic() - start)))
    print(f"total sent={sent} errors={errors}", flush=True)


if __name__ == "__main__":
    main()
