#!/usr/bin/python3
"""make-containers - FILE inside containers mail readers open, one message each.

  make-containers.py FILE DIR

writes into DIR (CRLF line ends), each with FILE as x.exe inside:
  zip-lzma, zip-ppmd, zip-xz   zip members compressed with LZMA, PPMd, XZ (7z)
  7z-bzip2, 7z-deflate         7z archives (7z)
  zstd, lzma                   the file alone, compressed (zstd, xz --format=lzma)
  pdf-predictor                a PDF whose embedded file is FlateDecode with a PNG predictor
  pdf-attach                   a PDF from /usr/share/doc with the file attached (pdfattach)
  zip-encrypted                a password-protected zip (7z -p)
7-Zip, WinRAR and Windows open the archives, PDF readers the embedded
files; libclamav 1.4 opens none of the first seven.
"""
import base64
import glob
import os
import subprocess
import sys
import tempfile
import zlib

HEAD = "From: a@client.example\nTo: info@example.com\nSubject: container-{}\nMIME-Version: 1.0\n"


def message(name, data, filename):
    b64 = base64.encodebytes(data).decode()
    text = (HEAD.format(name) + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'
            "see the attachment\n--b1\nContent-Type: application/octet-stream; name=\"{0}\"\n"
            "Content-Disposition: attachment; filename=\"{0}\"\nContent-Transfer-Encoding: base64\n\n{1}\n--b1--\n"
            ).format(filename, b64)
    return text.replace("\n", "\r\n").encode()


def pdf_predictor(data):
    """A PDF whose one embedded file is FlateDecode with the PNG Up predictor (12), 4 columns."""
    data += b"\0" * (-len(data) % 4)
    rows, prev = [], b"\0" * 4
    for i in range(0, len(data), 4):
        row = data[i:i + 4]
        rows.append(b"\x02" + bytes((row[k] - prev[k]) % 256 for k in range(4)))
        prev = row
    stream = zlib.compress(b"".join(rows))
    objs = [b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(x.exe) 4 0 R] >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            b"<< /Type /Filespec /F (x.exe) /UF (x.exe) /EF << /F 5 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length %d /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> >>\n"
            b"stream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    exe, out = sys.argv[1], sys.argv[2]
    data = open(exe, "rb").read()
    made = {}
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(tmp, "x.exe")
        open(x, "wb").write(data)
        for name, args in (("zip-lzma", ["-tzip", "-mm=LZMA"]), ("zip-ppmd", ["-tzip", "-mm=PPMd"]),
                           ("zip-xz", ["-tzip", "-mm=XZ"]), ("7z-bzip2", ["-t7z", "-m0=BZip2"]),
                           ("7z-deflate", ["-t7z", "-m0=Deflate"]), ("zip-encrypted", ["-tzip", "-pSecret"])):
            arc = os.path.join(tmp, name + (".7z" if name.startswith("7z") else ".zip"))
            run("7z", "a", *args, arc, x)
            made[name] = (open(arc, "rb").read(), os.path.basename(arc))
        run("zstd", "-q", x, "-o", x + ".zst")
        made["zstd"] = (open(x + ".zst", "rb").read(), "x.exe.zst")
        made["lzma"] = (subprocess.run(["xz", "--format=lzma", "-c", x], check=True, capture_output=True).stdout,
                        "x.exe.lzma")
        made["pdf-predictor"] = (pdf_predictor(data), "invoice.pdf")
        docs = sorted(glob.glob("/usr/share/doc/*/*.pdf"))
        if docs:
            run("pdfattach", docs[0], x, os.path.join(tmp, "a.pdf"))
            made["pdf-attach"] = (open(os.path.join(tmp, "a.pdf"), "rb").read(), "manual.pdf")
    for name, (blob, filename) in made.items():
        open(os.path.join(out, name + ".eml"), "wb").write(message(name, blob, filename))


if __name__ == "__main__":
    main()
