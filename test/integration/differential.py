#!/usr/bin/python3
"""differential - hostmilter's attachment walk against a reference reader.

  differential.py HOSTSCAN CONF EXE DOC CASES SEED

Generates CASES messages from a grammar of encodings, containers (zip,
tar, 7z, compressed files) and archives around a payload -- EXE (an executable) or, for every other case,
DOC (an ordinary document, the legit twin) -- and runs each through
`HOSTSCAN -c CONF -r info@example.com` (whose policy blocks
application/x-dosexec).  A reference reader extracts what a mail client
would open: Python's email package for the structure, and the lenient
decoders Thunderbird's mailnews/mime uses (base64 quartet by quartet past
padding, uuencode tolerant of empty lines, yEnc, transfer encodings cut at
";", "," or white space), then every container opened again.  A case fails
when an executable is inside (the generator put one there, or the
reference finds one) and hostscan does not block it (a miss), or none is
and hostscan refuses the message (a false positive).  Where the reference
reader and the generator disagree, the case says so: a gap of the
reference, to be mended there.  Prints TAP: one line per shape family, then a summary;
the failing messages are kept in the current directory.
"""
import base64
import binascii
import bz2
import email
import email.policy
import gzip
import io
import lzma
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile

# ---- the grammar: payload -> containers -> encoding -> message ----


# Every container has the same bytes every run (fixed times in zip, gzip and tar headers): a seed
# makes the same cases.  A timestamp once made a bzip2 checksum start like a header line, and
# the case failed in one run of many (check_scan: attach_opens_an_archive_that_starts_like_a_message).
WHEN = (2026, 12, 1, 12, 0, 0)
WHEN_S = 1796126400


def zip_of(data, name, rng):
    method = rng.choice([zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_STORED])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(zipfile.ZipInfo("readme.txt", WHEN), "see the other file\n", method)
        z.writestr(zipfile.ZipInfo(name, WHEN), data, method)
    return buf.getvalue(), "archive.zip"


def gzipped(data):
    return gzip.compress(data, mtime=WHEN_S)


def tar_of(data, name, rng):
    buf = io.BytesIO()
    kind = rng.choice(["gz", "bz2", "xz", ""])
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), WHEN_S
        t.addfile(info, io.BytesIO(data))
    packed = {"gz": gzipped, "bz2": bz2.compress, "xz": lzma.compress, "": bytes}[kind](buf.getvalue())
    return packed, "archive.tar"


def compressed(data, name, rng):
    kind = rng.choice(["gz", "bz2", "xz", "lzma"])
    packed = {"gz": gzipped, "bz2": bz2.compress, "xz": lzma.compress,
              "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE)}[kind](data)
    return packed, name + "." + kind


def sevenz_of(data, name, rng):
    """A 7z archive (the 7z command of p7zip-full: Python has no 7z writer in Debian's python3 here)."""
    method = rng.choice(["LZMA2", "LZMA", "BZip2", "Deflate", "PPMd", "Copy"])
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data)
        with open(os.path.join(tmp, "readme.txt"), "w") as f:
            f.write("see the other file\n")
        for member in ("readme.txt", name):     # the same bytes every run: a seed makes the same cases
            os.utime(os.path.join(tmp, member), (1796558400, 1796558400))
        subprocess.run(["7z", "a", "-t7z", "-m0=" + method, "archive.7z", "readme.txt", name], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(tmp, "archive.7z"), "rb") as f:
            return f.read(), "archive.7z"


CONTAINERS = {"zip": zip_of, "tar": tar_of, "compressed": compressed, "7z": sevenz_of}


def b64_plain(data, rng):
    return "base64", base64.encodebytes(data).decode()


def b64_padded(data, rng):
    # padding in the middle: small chunks, each padded on its own line
    out, i = [], 0
    while i < len(data):
        n = rng.choice([1, 2, 4, 5, 57])
        out.append(base64.b64encode(data[i:i + n]).decode())
        i += n
    return "base64", "\n".join(out) + "\n"


def qp(data, rng):
    # istext=False: line breaks in binary data are encoded too, as a mailer must
    return "quoted-printable", binascii.b2a_qp(data, istext=False).decode("latin-1")


ENCODINGS = {"base64": b64_plain, "base64-padded": b64_padded, "quoted-printable": qp}
CTE_SPELLINGS = {"base64": ["base64", "BASE64", "base64;", "base64, 7bit", " base64 "],
                 "quoted-printable": ["quoted-printable", "Quoted-Printable"]}


def uu_block(data, name, rng):
    lines = [binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n") for i in range(0, len(data), 45)]
    if rng.random() < 0.5:
        lines.insert(1, "`")
    return "begin 644 {}\n{}\n`\nend\n".format(name, "\n".join(lines))


def yenc_block(data, name, rng):
    out = bytearray()
    for c in data:
        o = (c + 42) % 256
        out += b"=" + bytes([(o + 64) % 256]) if o in (0, 10, 13, 61) else bytes([o])
    # lines of about 128 characters, an escape never split between two (as yEnc encoders write them)
    lines, start = [], 0
    while start < len(out):
        end = min(start + 128, len(out))
        if out[end - 1] == ord("=") and end < len(out):
            end += 1
        lines.append(bytes(out[start:end]))
        start = end
    lines = b"\n".join(lines)
    return ("=ybegin line=128 size=%d name=%s\n" % (len(data), name)).encode("latin-1") + lines + \
        b"\n=yend size=%d\n" % len(data)


HEAD = "From: a@client.example\nTo: info@example.com\nSubject: differential {}\nMIME-Version: 1.0\n"


def attachment_part(data, name, rng):
    enc = rng.choice(list(ENCODINGS))
    cte, text = ENCODINGS[enc](data, rng)
    spelling = rng.choice(CTE_SPELLINGS[cte])
    ctype = rng.choice(["application/pdf", "application/octet-stream", "image/png", "text/plain"])
    return ('Content-Type: {}; name="{}"\nContent-Disposition: attachment; filename="{}"\n'
            "Content-Transfer-Encoding: {}\n\n{}").format(ctype, name, name, spelling, text), enc, spelling


def message(case, data, name, rng):
    shape = rng.choice(["part", "part", "uu-body", "uu-part", "yenc-body", "forwarded"])
    head = HEAD.format(case)
    if shape == "uu-body":
        return (head + "\n" + uu_block(data, name, rng)).encode("latin-1"), shape
    if shape == "uu-part":
        return (head + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\nhi\n--b1\n'
                "Content-Type: application/octet-stream\nContent-Transfer-Encoding: " + rng.choice(
                    ["x-uuencode", "uuencode", "x-uue", "uue"]) + "\n\n" + uu_block(data, name, rng) + "--b1--\n"
                ).encode("latin-1"), shape
    if shape == "yenc-body":
        return (head + "\n").encode() + yenc_block(data, name, rng), shape
    part, enc, spelling = attachment_part(data, name, rng)
    inner = '--b1\nContent-Type: text/plain\n\nplease see the attachment\n--b1\n' + part + "\n--b1--\n"
    body = 'Content-Type: multipart/mixed; boundary="b1"\n\n' + inner
    if shape == "forwarded":
        fwd_enc = rng.choice(["7bit", "base64"])
        fwd = "From: b@elsewhere.example\nSubject: fwd\nMIME-Version: 1.0\n" + body
        fwd = base64.encodebytes(fwd.encode("latin-1")).decode() if fwd_enc == "base64" else fwd
        body = ('Content-Type: multipart/mixed; boundary="o1"\n\n--o1\nContent-Type: text/plain\n\nfwd\n--o1\n'
                "Content-Type: message/rfc822\nContent-Transfer-Encoding: {}\n\n{}\n--o1--\n").format(fwd_enc, fwd)
    return (head + body).encode("latin-1"), "{}/{}/{}".format(shape, enc, spelling.strip())


def make_case(case, payload, name, rng):
    data, fname = payload, name
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        data, fname = CONTAINERS[rng.choice(list(CONTAINERS))](data, fname, rng)
    msg, shape = message(case, data, fname, rng)
    return msg, shape

# ---- the reference reader ----


def lenient_b64(text):
    alphabet = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
    out, quartet = bytearray(), []
    for c in text:
        if c == ord("="):
            quartet.append(64)
        elif c in alphabet:
            quartet.append(alphabet[c])
        else:
            continue
        if len(quartet) == 4:
            q, v = quartet, [x if x != 64 else 0 for x in quartet]
            if q[0] != 64 and q[1] != 64:
                out.append((v[0] << 2 | v[1] >> 4) & 255)
                if q[2] != 64:
                    out.append(((v[1] & 15) << 4 | v[2] >> 2) & 255)
                    if q[3] != 64:
                        out.append(((v[2] & 3) << 6 | v[3]) & 255)
            quartet = []
    return bytes(out)


def uu_blocks(text):
    out, cur = [], None
    for line in text.split(b"\n"):
        line = line.rstrip(b"\r")
        if cur is None:
            if line.startswith(b"begin "):
                cur = bytearray()
            continue
        if line.strip() == b"end":
            out.append(bytes(cur))
            cur = None
            continue
        if not line:
            continue
        n = (line[0] - 32) & 63
        chunk = bytearray()
        for i in range(1, len(line), 4):
            c = [((line[i + k] - 32) & 63) if i + k < len(line) else 0 for k in range(4)]
            chunk += bytes([(c[0] << 2 | c[1] >> 4) & 255, ((c[1] & 15) << 4 | c[2] >> 2) & 255,
                            ((c[2] & 3) << 6 | c[3]) & 255])
        cur += chunk[:n]
    return out


def yenc_blocks(text):
    out, cur = [], None
    for line in text.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"=ybegin "):
            cur = bytearray()
        elif line.startswith(b"=yend") and cur is not None:
            out.append(bytes(cur))
            cur = None
        elif cur is not None and not line.startswith(b"=ypart"):
            i = 0
            while i < len(line):
                c = line[i]
                if c == ord("=") and i + 1 < len(line):
                    i += 1
                    c = (line[i] - 64) % 256
                cur.append((c - 42) % 256)
                i += 1
    return out


def decode_part(part):
    # The bytes as sent: compat32 keeps what is not ASCII as surrogates, and
    # get_payload(decode=False) would turn them into U+FFFD.
    raw = part._payload
    raw = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else raw
    cte = (part.get("Content-Transfer-Encoding") or "").strip()
    token = cte.split(";")[0].split(",")[0].split()[0].lower() if cte.split() else ""
    if token == "base64":
        return [lenient_b64(raw)]
    if token == "quoted-printable":
        import quopri
        return [quopri.decodestring(raw)]
    return [raw]


def is_exe(data):
    if len(data) < 64 or data[:2] != b"MZ":
        return False
    at = int.from_bytes(data[60:64], "little")
    return at + 4 <= len(data) and data[at:at + 4] == b"PE\0\0"


def sevenz_members(data):
    """The files of a 7z archive, as 7-Zip takes them out; [] when it is none."""
    if data[:6] != b"7z\xbc\xaf\x27\x1c":
        return []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "a.7z"), "wb") as f:
            f.write(data)
        if subprocess.run(["7z", "x", "-y", "-oout", "a.7z"], cwd=tmp, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            return []
        out = []
        for root, _, files in os.walk(os.path.join(tmp, "out")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    out.append(f.read())
        return out


def containers(data, depth):
    found = is_exe(data)
    if depth > 6:
        return found
    members = sevenz_members(data)
    if members:
        return found or any(containers(m, depth + 1) for m in members)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return found or any(containers(z.read(n), depth + 1) for n in z.namelist())
    except Exception:
        pass
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            return found or any(containers(t.extractfile(m).read(), depth + 1) for m in t.getmembers() if m.isfile())
    except Exception:
        pass
    for fn in (gzip.decompress, bz2.decompress, lzma.decompress):
        try:
            return found or containers(fn(data), depth + 1)
        except Exception:
            pass
    if data[:5] in (b"From:", b"MIME-") or b"\nMIME-Version:" in data[:2000]:
        return found or reference_finds(data, depth + 1)
    return found


def reference_finds(raw, depth=0):
    return reference_finds_in(email.message_from_bytes(raw, policy=email.policy.compat32), depth)


def reference_finds_in(msg, depth):
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() == "message/rfc822" and isinstance(part.get_payload(), list):
            cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
            if cte.startswith("base64") or cte.startswith("quoted-printable"):
                # the email package parsed the encoded text as the message: decode it, as readers do
                text = b"".join(sub.as_bytes() for sub in part.get_payload())
                inner = lenient_b64(text) if cte.startswith("base64") else __import__("quopri").decodestring(text)
                found = reference_finds(inner, depth + 1)
            else:
                found = any(reference_finds_in(sub, depth + 1) for sub in part.get_payload())
            if found:
                return True
            continue
        for data in decode_part(part):
            blobs = [data] + uu_blocks(data) + yenc_blocks(data)
            if any(containers(b, depth) for b in blobs):
                return True
    return False

# ---- the run ----


def main():
    hostscan, conf, exe_path, doc_path, cases, seed = sys.argv[1:7]
    rng = random.Random(int(seed))
    exe, doc = open(exe_path, "rb").read(), open(doc_path, "rb").read()
    misses, false_pos, families = 0, 0, {}
    for case in range(int(cases)):
        hostile = case % 2 == 0
        msg, shape = make_case(case, exe if hostile else doc, "x.exe" if hostile else "report.pdf", rng)
        ref = reference_finds(msg)
        rc = subprocess.run([hostscan, "-c", conf, "-r", "info@example.com"], input=msg,
                            capture_output=True).returncode
        blocked = rc == 3
        family = shape.split("/")[0] + (" hostile" if hostile else " legit")
        families.setdefault(family, [0, 0])[0] += 1
        if ref != hostile:      # the generator knows; the reference reader has a gap of its own
            print("# case {} ({}): the reference reader {} the executable the generator put in".format(
                case, shape, "misses" if hostile else "invents"))
        exe_inside = hostile or ref
        if (exe_inside and not blocked) or (not exe_inside and rc != 0):
            families[family][1] += 1
            name = "differential-{}.eml".format(case)
            open(name, "wb").write(msg)
            print("# case {} ({}): {}, hostscan exit {}; kept as {}".format(
                case, shape, "an executable inside" if exe_inside else "no executable inside", rc, name))
            # The run directory goes at the end of a run without KEEP_RUN=1: the message in the log too
            # (base64), so that a failure seen once in CI can be replayed.
            for line in base64.encodebytes(msg).decode().splitlines():
                print("#  " + line)
            misses += exe_inside and not blocked
            false_pos += not exe_inside and rc != 0
    n = 0
    for family, (count, bad) in sorted(families.items()):
        n += 1
        print("{} {} - {}: {} cases, {} wrong".format("not ok" if bad else "ok", n, family, count, bad))
    n += 1
    print("{} {} - {} cases: {} executables missed, {} false positives".format(
        "not ok" if misses or false_pos else "ok", n, cases, misses, false_pos))
    print("1..{}".format(n))
    return 1 if misses or false_pos else 0


if __name__ == "__main__":
    sys.exit(main())
