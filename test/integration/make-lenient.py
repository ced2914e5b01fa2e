#!/usr/bin/python3
"""make-lenient - FILE encoded the ways only a lenient reader decodes, one message each.

  make-lenient.py FILE DIR

writes into DIR, with CRLF line ends (Sendmail refuses bare LF):
  pad.eml    base64 with padding in the middle of the stream: the first byte
             encoded and padded alone, then one padded chunk per line
  uu.eml     uuencoded in a body without Content-Type, a zero-length line
             (a lone backtick) after the first line
  xuu.eml    the same as a part with Content-Transfer-Encoding: x-uuencode
  yenc.eml   yEnc (=ybegin ... =yend) in a body without Content-Type
  cte.eml    base64 declared "base64;"
  cte2.eml   base64 declared "base64, 7bit"
  ctype1.eml two Content-Type headers, text/plain first, then the multipart
             that attaches FILE (base64, as application/pdf)
  ctype2.eml the same, the multipart's header first
  ctype3.eml one Content-Type header naming both: "text/plain; multipart/mixed"
Thunderbird decodes each to FILE (mailnews/mime: mimeenc.cpp, mimeunty.cpp);
GMime and libclamav did not.  Readers differ on the ctype ones (some take
the first Content-Type header, some the last): one reading shows FILE.
"""
import base64
import binascii
import os
import sys

HEAD = "From: a@client.example\nTo: info@example.com\nSubject: lenient-{}\nMIME-Version: 1.0\n"


def multipart(name, part):
    return (HEAD.format(name) + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'
            "see the attachment\n--b1\n" + part + "\n--b1--\n")


def yenc(data):
    out = bytearray()
    for c in data:
        o = (c + 42) % 256
        out += b"=" + bytes([(o + 64) % 256]) if o in (0, 10, 13, 61) else bytes([o])
    return bytes(out)


def main():
    exe, out = open(sys.argv[1], "rb").read(), sys.argv[2]
    msgs = {}
    lines = [base64.b64encode(exe[:1]).decode()] + [base64.b64encode(exe[i:i + 57]).decode()
                                                      for i in range(1, len(exe), 57)]
    msgs["pad"] = multipart("pad", 'Content-Type: application/pdf; name="x.pdf"\nContent-Transfer-Encoding: base64\n\n'
                            + "\n".join(lines))
    uu = [binascii.b2a_uu(exe[i:i + 45]).decode().rstrip("\n") for i in range(0, len(exe), 45)]
    uu.insert(1, "`")
    block = "begin 644 x.exe\n" + "\n".join(uu) + "\n`\nend\n"
    msgs["uu"] = HEAD.format("uu") + "\n" + block
    msgs["xuu"] = multipart("xuu", "Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n"
                            + block)
    enc = yenc(exe)
    ylines = b"\n".join(enc[i:i + 128] for i in range(0, len(enc), 128))
    msgs["yenc"] = (HEAD.format("yenc") + "\n").encode() + b"=ybegin line=128 size=%d name=x.exe\n" % len(exe) \
        + ylines + b"\n=yend size=%d\n" % len(exe)
    b64 = base64.encodebytes(exe).decode()
    for name, cte in (("cte", "base64;"), ("cte2", "base64, 7bit")):
        msgs[name] = multipart(name, 'Content-Type: application/pdf; name="x.pdf"\nContent-Transfer-Encoding: '
                               + cte + "\n\n" + b64)
    attached = ('--b1\nContent-Type: application/pdf; name="x.pdf"\nContent-Transfer-Encoding: base64\n\n' + b64
                + "--b1--\n")
    multi = 'multipart/mixed; boundary="b1"'
    for name, first, second in (("ctype1", "text/plain", multi), ("ctype2", multi, "text/plain")):
        msgs[name] = (HEAD.format(name) + "Content-Type: " + first + "\nContent-Type: " + second + "\n\n"
                      + attached)
    msgs["ctype3"] = HEAD.format("ctype3") + 'Content-Type: text/plain; multipart/mixed; boundary="b1"\n\n' + attached
    for name, text in msgs.items():
        with open(os.path.join(out, name + ".eml"), "wb") as f:
            f.write((text if isinstance(text, bytes) else text.encode()).replace(b"\n", b"\r\n"))


if __name__ == "__main__":
    main()
