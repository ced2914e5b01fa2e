#!/usr/bin/python3
"""make-message - test messages for the scanning tests, CRLF line ends.

  make-message.py clean                      a plain text message
  make-message.py gtube                      the GTUBE spam test string
  make-message.py text WORDS                 a message whose body is WORDS
  make-message.py attach FILE [NAME] [TYPE]  FILE as a base64 attachment
  make-message.py nested FILE                FILE attached inside a forwarded message
  make-message.py big BYTES                  a clean message of about BYTES
HM_SUBJECT, when set, is the Subject and the Message-ID's local part.
"""
import base64
import os
import sys

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
HEAD = ("From: Sender <sender@client.example>\nTo: info@example.com\nSubject: {subject}\n"
        "Date: Sun, 22 Nov 2026 10:00:00 +0000\nMessage-ID: <{subject}.test@client.example>\n")


def part(path, name, ctype):
    data = base64.encodebytes(open(path, "rb").read()).decode()
    return ("Content-Type: {t}; name=\"{n}\"\nContent-Disposition: attachment; filename=\"{n}\"\n"
            "Content-Transfer-Encoding: base64\n\n{d}").format(t=ctype, n=name, d=data)


def multipart(subject, inner):
    return (HEAD.format(subject=subject) + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
            "--b1\nContent-Type: text/plain\n\nPlease see the attachment.\n--b1\n" + inner + "\n--b1--\n")


def main():
    kind = sys.argv[1]
    global HEAD
    if os.environ.get("HM_SUBJECT"):    # a unique subject finds the message in the queue
        HEAD = HEAD.replace("{subject}", os.environ["HM_SUBJECT"])
    if kind == "clean":
        text = HEAD.format(subject="clean") + "\nHello, this is an ordinary message.\n"
    elif kind == "gtube":
        text = HEAD.format(subject="gtube") + "\n" + GTUBE + "\n"
    elif kind == "text":
        text = HEAD.format(subject="text") + "\n" + sys.argv[2] + "\n"
    elif kind == "attach":
        path = sys.argv[2]
        name = sys.argv[3] if len(sys.argv) > 3 else path.rsplit("/", 1)[-1]
        ctype = sys.argv[4] if len(sys.argv) > 4 else "application/octet-stream"
        text = multipart("attach", part(path, name, ctype))
    elif kind == "nested":
        inner = ("Content-Type: message/rfc822\n\nFrom: someone@else.example\nSubject: fwd\nMIME-Version: 1.0\n"
                 "Content-Type: multipart/mixed; boundary=\"b2\"\n\n--b2\n" +
                 part(sys.argv[2], "file.bin", "application/octet-stream") + "\n--b2--\n")
        text = multipart("nested", inner)
    elif kind == "big":
        line = "y" * 76 + "\n"
        text = HEAD.format(subject="big") + "\n" + line * (int(sys.argv[2]) // len(line))
    else:
        sys.exit(__doc__)
    sys.stdout.buffer.write(text.replace("\n", "\r\n").encode())


if __name__ == "__main__":
    main()
