#!/usr/bin/python3
"""make-message - test messages for the scanning tests, CRLF line ends.

  make-message.py clean                      a plain text message
  make-message.py gtube                      the GTUBE spam test string
  make-message.py text WORDS                 a message whose body is WORDS
  make-message.py attach FILE [NAME] [TYPE]  FILE as a base64 attachment
  make-message.py nested FILE                FILE attached inside a forwarded message
  make-message.py big BYTES                  a clean message of about BYTES
  make-message.py deep DEPTH FILE            FILE inside DEPTH multiparts, one in the other
  make-message.py many N FILE                N text parts, then FILE
  make-message.py fwd-base64 FILE            FILE in a forwarded message, sent base64-encoded
  make-message.py uuencoded FILE             FILE uuencoded in a text body ("begin 644 ...")
  make-message.py no-boundary FILE           FILE in a multipart that lacks its boundary
  make-message.py forged-marks               a clean message carrying hostmilter's headers, forged
HM_SUBJECT, when set, is the Subject and the Message-ID's local part.
"""
import base64
import binascii
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
    elif kind == "deep":
        depth, body = int(sys.argv[2]), part(sys.argv[3], "invoice.pdf", "application/pdf")
        for i in range(depth, 0, -1):
            body = ('Content-Type: multipart/mixed; boundary="d%d"\n\n--d%d\n%s\n--d%d--\n' % (i, i, body, i))
        text = HEAD.format(subject="deep") + "MIME-Version: 1.0\n" + body
    elif kind == "many":
        texts = "".join("Content-Type: text/plain\n\npart %d\n--b1\n" % i for i in range(int(sys.argv[2])))
        text = multipart("many", texts + part(sys.argv[3], "invoice.pdf", "application/pdf"))
    elif kind == "fwd-base64":
        inner = ("From: someone@else.example\nSubject: fwd\nMIME-Version: 1.0\n"
                 "Content-Type: multipart/mixed; boundary=\"b2\"\n\n--b2\n" +
                 part(sys.argv[2], "invoice.pdf", "application/pdf") + "\n--b2--\n").replace("\n", "\r\n")
        text = multipart("fwd", "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
                         base64.encodebytes(inner.encode()).decode())
    elif kind == "uuencoded":
        data = open(sys.argv[2], "rb").read()
        lines = [binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n").replace(" ", "`")
                 for i in range(0, len(data), 45)]
        text = (HEAD.format(subject="uu") + "\nHello, the program you asked for:\n\nbegin 755 setup.exe\n" +
                "\n".join(lines) + "\n`\nend\n\nRegards\n")
    elif kind == "no-boundary":
        text = (HEAD.format(subject="nb") + "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--b1\n" +
                part(sys.argv[2], "invoice.pdf", "application/pdf") + "\n--b1--\n")
    elif kind == "forged-marks":
        text = (HEAD.format(subject="forged") + "X-Spam-Status: No, score=-100.0 required=5.0 tests=FORGED\n"
                "x-spam-status: No, score=-99.0 (a second copy, lower case)\nX-Spam-Flag: NO\n"
                "X-Spam-Score: -100.0\nX-Virus-Scanned: forged by the sender\nX-Virus-Status: Clean\n"
                "X-Spam-Level: *****\n\nNothing to see here.\n")
    elif kind == "big":
        line = "y" * 76 + "\n"
        text = HEAD.format(subject="big") + "\n" + line * (int(sys.argv[2]) // len(line))
    else:
        sys.exit(__doc__)
    sys.stdout.buffer.write(text.replace("\n", "\r\n").encode())


if __name__ == "__main__":
    main()
