#!/usr/bin/python3
"""make-legit - the legit corpus: ordinary business mail, built at test time.

Usage: make-legit.py OUTDIR

Writes one message a file into OUTDIR and OUTDIR/manifest.tsv, one line a
message: name, file, the SIZE= its MAIL command declares, the X-Virus-Status
the design promises for it ("Clean", or "Unscanned (encrypted)" for what is
encrypted: DESIGN "Fail closed, and pass the legit"), and where it comes from.

Two kinds of message:
- made here, the way business mail is made, from real files on the machine
  (PDFs and images under /usr/share/doc, photos of libjxl-testdata, images and
  sounds of Python's test suite, a Debian changelog.gz, ...), wrapped by
  Python's email package, signed and encrypted by the openssl and gpg
  commands.  Nothing is written byte by byte to look like a given mailer.
- real mail from real mailers, as public corpora that Debian packages
  install: Python's email test messages (libpython3.11-testsuite: mailing-
  list digests, a sendmail bounce, Mailman and exmh output), the enmime
  library's test mail (golang-github-jhillyerd-enmime-dev: Apple Mail,
  Outlook, web mailers, and the sloppy ones its "low-quality" set keeps), and
  SpamAssassin's sample of non-spam; and a winmail.dat Outlook 16.0 made,
  from a public mailing-list archive (test/data/tnef/README: no package has
  one), sent as Outlook sends it.  A leading mbox "From " line is the
  mailbox's, not the message's: it is left out, as an MTA never sends it.
  Left out as no mail at all: enmime's erroneous.raw (one line, "// Not an
  RFC-822 Document", its parser's test of garbage input), and enmime's
  testdata/parts and testdata/encode (single MIME entities that its unit
  tests parse or write, with no message header: fragments, not messages).
  Everything else is sent, the sloppy mailers' messages included.

Messages are written with LF line ends (as a mailbox or procmail holds
them); legit-check.py sends them with CRLF, as an MTA does.
"""
import binascii
import email.policy
import glob
import hashlib
import io
import lzma
import mimetypes
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from email import encoders
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

POLICY = email.policy.default.clone(linesep="\n")
SENDER = "Buchhaltung Lieferant <buchhaltung@supplier.example>"
RCPT = "info@example.com"
ENCRYPTED = "Unscanned (encrypted)"
PYDATA = "/usr/lib/python3.11/test/test_email/data"
ENMIME = "/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"
PHOTOS = "/usr/share/libjxl-testdata/jxl"

GERMAN = ("Sehr geehrte Damen und Herren,\n\n"
          "anbei erhalten Sie die Unterlagen für die Prüfung der Jahresabschlüsse. "
          "Bitte beachten Sie die geänderten Öffnungszeiten unseres Büros in Düsseldorf "
          "(Grüße an Frau Müller und Herrn Weiß).\n\n"
          "Mit freundlichen Grüßen\nJürgen Bäcker\nSupplier GmbH, Königstraße 5, 70173 Stuttgart\n")


class Corpus:
    def __init__(self, out):
        self.out = out
        self.rows = []
        self.rng = random.Random(22)

    def add(self, name, data, size=0, expect="Clean", origin="made"):
        if isinstance(data, (EmailMessage, MIMEBase)):
            data = data.as_bytes(policy=POLICY)
        path = os.path.join(self.out, "%03d-%s.eml" % (len(self.rows) + 1, name))
        with open(path, "wb") as f:
            f.write(data)
        self.rows.append((name, path, str(size), expect, origin))

    def write_manifest(self):
        with open(os.path.join(self.out, "manifest.tsv"), "w") as f:
            for row in self.rows:
                f.write("\t".join(row) + "\n")


def need(paths, what):
    """The files found, sorted; the corpus is not built without them."""
    found = sorted(p for p in paths if os.path.isfile(p) and os.path.getsize(p) > 0)
    if not found:
        sys.exit("make-legit: no %s on this machine (see PACKAGES in test/setup.sh)" % what)
    return found


def read(path):
    with open(path, "rb") as f:
        return f.read()


def message(subject, text="Guten Tag,\n\nanbei die Unterlagen.\n\nViele Grüße\nJürgen Bäcker\n", **kw):
    m = EmailMessage()
    m["From"] = SENDER
    m["To"] = "Info <%s>" % RCPT
    m["Subject"] = subject
    m["Date"] = formatdate(1796558400, localtime=False)
    m["Message-ID"] = make_msgid(domain="supplier.example")
    m.set_content(text, **kw)
    return m


def ctype(name):
    t = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    return t.split("/", 1)


def attach(m, data, filename, mime=None, **kw):
    maintype, subtype = (mime or "/".join(ctype(filename))).split("/", 1)
    if maintype == "text":
        m.add_attachment(data.decode("utf-8", "replace"), subtype=subtype, filename=filename, **kw)
    else:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename, **kw)


# ---- office documents in their real container layouts ----
def docx(text):
    """A WordprocessingML document as Word writes its package (ECMA-376 Part 2)."""
    paras = "".join("<w:p><w:r><w:t xml:space=\"preserve\">%s</w:t></w:r></w:p>" % line
                    for line in text.splitlines())
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/'
            'vnd.openxmlformats-package.core-properties+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/></Relationships>',
        "word/_rels/document.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        "word/document.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            '<w:body>%s<w:sectPr/></w:body></w:document>' % paras,
        "docProps/core.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Angebot</dc:title>'
            '<dc:creator>Jürgen Bäcker</dc:creator></cp:coreProperties>',
    }
    return zipped(files)


def xlsx(rows):
    """A SpreadsheetML workbook as Excel writes its package (ECMA-376)."""
    cells = "".join("<row r=\"%d\">%s</row>" % (i + 1, "".join(
        "<c t=\"inlineStr\"><is><t>%s</t></is></c>" % v for v in row)) for i, row in enumerate(rows))
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="%s/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>' % ns,
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="%s/package/2006/relationships"><Relationship Id="rId1" '
            'Type="%s/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>' % (ns, ns),
        "xl/workbook.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="%s/spreadsheetml/2006/main" xmlns:r="%s/officeDocument/2006/relationships">'
            '<sheets><sheet name="Umsatz" sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, ns),
        "xl/_rels/workbook.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="%s/package/2006/relationships"><Relationship Id="rId1" '
            'Type="%s/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>' % (ns, ns),
        "xl/worksheets/sheet1.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="%s/spreadsheetml/2006/main"><sheetData>%s</sheetData></worksheet>' % (ns, cells),
    }
    return zipped(files)


def odf(kind, body):
    """An OpenDocument package (ODF 1.2 part 3): "mimetype" first and stored, then the manifest."""
    mime = "application/vnd.oasis.opendocument." + kind
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="%s" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
               '<office:body>%s</office:body></office:document-content>' % (office, body))
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="%s"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>' % mime)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype", (2026, 12, 1, 9, 0, 0)), mime, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", manifest)
    return buf.getvalue()


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, (2026, 12, 1, 9, 0, 0)),
                       data if isinstance(data, bytes) else data.encode(), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def targz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1796558400
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sqlite_export(path, size):
    """A binary export as an accounting program writes one: an SQLite database of SIZE bytes."""
    if os.path.exists(path):
        os.unlink(path)
    rng = random.Random(size)
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size = 65536")
    db.execute("CREATE TABLE beleg (id INTEGER PRIMARY KEY, datum TEXT, betrag REAL, scan BLOB)")
    chunk = 256 * 1024
    for i in range(max(1, size // chunk)):
        db.execute("INSERT INTO beleg (datum, betrag, scan) VALUES (?, ?, ?)",
                   ("2026-%02d-%02d" % (i % 12 + 1, i % 28 + 1), rng.random() * 1e4, rng.randbytes(chunk)))
    db.commit()
    db.close()
    return read(path)


def csv_report(size):
    rng = random.Random(size)
    lines = ["Datum;Kunde;Artikel;Menge;Betrag EUR"]
    total = len(lines[0])
    while total < size:
        line = "2026-%02d-%02d;Kunde %05d;Artikel Nr. %06d – Größe %s;%d;%d,%02d" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(1, 99999), rng.randint(1, 999999),
            rng.choice("SMLX"), rng.randint(1, 50), rng.randint(1, 9999), rng.randint(0, 99))
        lines.append(line)
        total += len(line.encode()) + 1
    return ("\n".join(lines) + "\n").encode()


# ---- S/MIME and PGP/MIME, by the real tools ----
class Crypto:
    def __init__(self, work):
        self.work = work
        os.makedirs(work, exist_ok=True)
        self.key, self.cert = os.path.join(work, "k.pem"), os.path.join(work, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "30", "-subj", "/CN=office@partner.example"],
                       check=True, capture_output=True)
        self.gpghome = os.path.join(work, "gnupg")
        os.makedirs(self.gpghome, mode=0o700, exist_ok=True)
        self.gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                 "office@partner.example", "default", "default", "1d")

    def gpg(self, *args, data=None):
        return subprocess.run(["gpg", "--homedir", self.gpghome, "--batch", "--trust-model", "always"] + list(args),
                              input=data, check=True, capture_output=True).stdout

    def openssl(self, *args, data):
        return subprocess.run(["openssl", "smime"] + list(args), input=data, check=True,
                              capture_output=True).stdout

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.gpghome, "--kill", "gpg-agent"], capture_output=True)


def with_headers(subject, entity):
    """Outer headers in front of what openssl smime wrote (its MIME-Version and Content-* lines)."""
    head = ("From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\n" % (
        SENDER, RCPT, subject, formatdate(1796558400), make_msgid(domain="supplier.example"))).encode()
    return head + entity.replace(b"\r\n", b"\n")


def entity_with_pdf(pdf):
    inner = EmailMessage()
    inner.set_content(GERMAN, cte="quoted-printable")
    inner.add_attachment(read(pdf), maintype="application", subtype="pdf", filename=os.path.basename(pdf))
    del inner["MIME-Version"]
    return inner.as_bytes(policy=email.policy.SMTP)


def pgp_mime(c, subject, entity, sign_only):
    """RFC 3156, as a mailer writes it: the signed entity carried over byte for byte (signed in its CRLF
    form), or the encrypted one in application/octet-stream behind the version part."""
    boundary = "------------pgp" + hashlib.sha256(entity).hexdigest()[:24]
    if sign_only:
        sig = c.gpg("--pinentry-mode", "loopback", "--passphrase", "", "-a", "--detach-sign", "--digest-algo",
                    "sha256", "-u", "office@partner.example", data=entity)
        head = ('Content-Type: multipart/signed; micalg=pgp-sha256;\n protocol="application/pgp-signature";'
                '\n boundary="%s"' % boundary)
        parts = [entity, b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
                 b'Content-Description: OpenPGP digital signature\r\n'
                 b'Content-Disposition: attachment; filename="signature.asc"\r\n\r\n' + sig]
    else:
        enc = c.gpg("--pinentry-mode", "loopback", "--passphrase", "", "-a", "-e", "-s", "-r",
                    "office@partner.example", "-u", "office@partner.example", data=entity)
        head = ('Content-Type: multipart/encrypted;\n protocol="application/pgp-encrypted";'
                '\n boundary="%s"' % boundary)
        parts = [b"Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version "
                 b"identification\r\n\r\nVersion: 1\r\n",
                 b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
                 b'Content-Description: OpenPGP encrypted message\r\n'
                 b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n' + enc]
    body = ("MIME-Version: 1.0\n%s\n\nThis is an OpenPGP/MIME message (RFC 4880 and 3156)\n" % head).encode()
    for part in parts:
        body += b"--" + boundary.encode() + b"\n" + part.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    body += b"--" + boundary.encode() + b"--\n"
    return with_headers(subject, body)


# ---- the shapes ----
class Files:
    """The real files the shapes are made of; the corpus is not built without them."""
    def __init__(self):
        g = glob.glob
        # libtasn1-doc's and shared-mime-info's manuals (PACKAGES in test/setup.sh), else any two.
        pdfs = need(g("/usr/share/doc/libtasn1-doc/*.pdf") + g("/usr/share/doc/shared-mime-info/*.pdf")
                    or g("/usr/share/doc/*/*.pdf"), "PDF")
        self.pdf, self.pdf2 = pdfs[0], pdfs[-1]
        self.pngs = need(g("/usr/share/doc/**/*.png", recursive=True), "PNG image")
        self.photos = need(g(PHOTOS + "/flower/flower_small*.jpg") + g(PHOTOS + "/flower/flower_cropped.jpg"),
                           "photo (libjxl-testdata)")
        self.big_photo = need(g(PHOTOS + "/flower/flower.png.im_q85_420.jpg"), "photo (libjxl-testdata)")[0]
        self.changelog = need(g("/usr/share/doc/*/changelog.Debian.gz"), "changelog.Debian.gz")[0]
        self.html = need(g("/usr/share/doc/*/*.html") + g("/usr/share/doc/*/html/*.html"), "HTML")[0]
        self.docs = {"Rechnung.pdf": read(self.pdf), "Angebot.docx": docx(GERMAN), "Liste.csv": csv_report(20000),
                     "Handbuch.pdf": read(self.pdf2), "Notiz.txt": GERMAN.encode()}


def made(c, out):
    f = Files()
    texts(c)
    documents(c, f)
    newsletter(c, f.pngs)
    pictures(c, f)
    calendar(c)
    forwarded(c, f.pdf)
    nesting(c, f)
    digest(c)
    signed_and_encrypted(c, out, f.pdf)
    archives(c, out, f.docs)
    own(c, f.pdf, f.html)
    types(c, f.pngs, f.html)
    sizes(c, out, f.pdf)


def texts(c):
    c.add("plain-1k", message("Kurze Rückfrage zum Termin", (GERMAN * 2)[:1000] + "\n"))
    c.add("qp-umlauts", message("Jahresabschluss – Unterlagen", GERMAN * 3, cte="quoted-printable"))
    c.add("8bit-umlauts", message("Rückruf erbeten", GERMAN * 3, cte="8bit"))
    m = message("Nachricht in Latin-1", GERMAN)
    m.set_content(GERMAN, charset="iso-8859-1", cte="8bit")
    c.add("8bit-latin1", m)
    c.add("base64-text", message("Text in base64", GERMAN * 4, cte="base64"))
    m = message("Kurz notiert", "Eine lange Zeile, die der Mailer nicht umbricht. " * 15 + "\n")
    m.set_param("format", "flowed")
    c.add("format-flowed", m)


def documents(c, f):
    m = message("Rechnung 2026-1187")
    attach(m, read(f.pdf), os.path.basename(f.pdf))
    c.add("pdf", m)
    m = message("Zwei Handbücher")
    attach(m, read(f.pdf), os.path.basename(f.pdf))
    attach(m, read(f.pdf2), os.path.basename(f.pdf2))
    c.add("pdf-two", m)
    m = message("Rechnung März")
    attach(m, read(f.pdf), "Rechnung März 2026 – Nr. 1187.pdf")	# RFC 2231 name, as Thunderbird sends it
    c.add("pdf-rfc2231-name", m)
    m = message("Bericht (inline)")
    m.add_attachment(read(f.pdf), maintype="application", subtype="pdf", filename="bericht.pdf", disposition="inline")
    c.add("pdf-inline", m)
    m = message("Angebot als Word-Datei")
    attach(m, docx(GERMAN * 5), "Angebot 2026.docx")
    c.add("docx", m)
    m = message("Umsatzliste")
    attach(m, xlsx([["Monat", "Umsatz"]] + [["2026-%02d" % i, str(1000 * i)] for i in range(1, 13)]), "Umsatz.xlsx")
    c.add("xlsx", m)
    m = message("Protokoll als ODT")
    attach(m, odf("text", "<office:text>%s</office:text>" % "".join(
        "<text:p>%s</text:p>" % l for l in GERMAN.splitlines())), "Protokoll.odt")
    c.add("odt", m)
    m = message("Unterlagen gezippt")
    attach(m, zipped(f.docs), "Unterlagen.zip", "application/zip")
    c.add("zip-of-documents", m)
    m = message("Unterlagen als tar.gz")
    attach(m, targz(f.docs), "unterlagen.tar.gz", "application/gzip")
    c.add("targz-of-documents", m)
    m = message("Projekt (Archiv im Archiv)")
    attach(m, zipped({"Projekt/Unterlagen.zip": zipped(f.docs), "Projekt/Bilder.tar.gz":
                      targz({os.path.basename(p): read(p) for p in f.pngs[:3]})}), "Projekt.zip", "application/zip")
    c.add("zip-in-zip", m)
    m = message("Änderungsprotokoll")
    attach(m, read(f.changelog), "changelog.Debian.gz", "application/gzip")
    c.add("gz-changelog", m)
    m = message("Tabellen komprimiert")
    attach(m, lzma.compress(csv_report(200000)), "liste.csv.xz", "application/x-xz")
    c.add("xz-csv", m)


def pictures(c, f):
    m = message("Screenshots")
    for p in f.pngs[:4]:
        attach(m, read(p), os.path.basename(p))
    c.add("images", m)
    m = message("Urlaubsfotos (120)", "Hallo zusammen,\n\nhier die Fotos vom Betriebsausflug.\n")
    for i in range(120):
        attach(m, read(f.photos[i % len(f.photos)]), "IMG_%04d.jpg" % (i + 1), "image/jpeg")
    c.add("photos-120", m)
    m = message("Ein Foto in voller Größe")
    attach(m, read(f.big_photo), "DSC_0815.jpg", "image/jpeg")
    c.add("photo-large", m)


def nesting(c, f):
    """Many parts, deep forwarding, and uuencode as old mailers still send it."""
    m = message("Alte Schule: uuencode", "Die Datei hängt unten an.\n\n" + uuencode(read(f.pdf2), "handbuch.pdf"))
    c.add("uuencoded-pdf", m)
    m = message("Quittungen (300 Teile)", "300 Quittungen, eine je Teil.\n")
    for i in range(299):
        attach(m, ("Quittung %d\nBetrag: %d,%02d EUR\n" % (i, i * 7, i % 100)).encode(), "quittung-%03d.txt" % i)
    c.add("parts-300", m)
    inner = message("Rechnung (ursprünglich)")
    attach(inner, read(f.pdf), os.path.basename(f.pdf))
    for level in range(8):
        fwd = message("WG: " * (level + 1) + "Rechnung", "Zur Kenntnis, Ebene %d.\n" % (level + 1))
        fwd.add_attachment(inner)
        inner = fwd
    c.add("forwarded-8-deep", inner)


def signed_and_encrypted(c, out, pdf):
    crypto = Crypto(os.path.join(out, "keys"))
    entity = entity_with_pdf(pdf)
    c.add("smime-signed-detached", with_headers("Signiertes Angebot", crypto.openssl(
        "-sign", "-signer", crypto.cert, "-inkey", crypto.key, data=entity)))
    c.add("smime-signed-opaque", with_headers("Signiertes Angebot (opak)", crypto.openssl(
        "-sign", "-nodetach", "-signer", crypto.cert, "-inkey", crypto.key, data=entity)))
    c.add("smime-encrypted", with_headers("Vertraulich: Angebot", crypto.openssl(
        "-encrypt", "-aes256", crypto.cert, data=entity)), expect=ENCRYPTED)
    signed = crypto.openssl("-sign", "-signer", crypto.cert, "-inkey", crypto.key, data=entity)
    c.add("smime-signed-then-encrypted", with_headers("Vertraulich und signiert", crypto.openssl(
        "-encrypt", "-aes256", crypto.cert, data=signed)), expect=ENCRYPTED)
    c.add("pgp-mime-signed", pgp_mime(crypto, "PGP-signiert", entity, True))
    c.add("pgp-mime-encrypted", pgp_mime(crypto, "PGP-verschlüsselt", entity, False), expect=ENCRYPTED)
    m = message("PGP inline", crypto.gpg("--pinentry-mode", "loopback", "--passphrase", "", "--clearsign",
                                          "-u", "office@partner.example", data=GERMAN.encode()).decode())
    c.add("pgp-inline-clearsigned", m)
    crypto.close()


def sizes(c, out, pdf):
    """From binary exports of 2, 8 and 40 MB (the largest, 56 MB encoded, under the recipient's 64M) to
    a short message whose MAIL command declares SIZE=60000000."""
    for mb in (2, 8, 40):
        m = message("Datenexport %d MB" % mb, "Der Export der Buchhaltung hängt an.\n")
        attach(m, sqlite_export(os.path.join(out, "keys", "export.db"), mb << 20), "export-%dmb.sqlite" % mb,
               "application/vnd.sqlite3")
        c.add("export-%dmb" % mb, m)
    os.unlink(os.path.join(out, "keys", "export.db"))
    for size, name in ((64 << 10, "64k"), (1 << 20, "1m"), (3 << 20, "3m"), (12 << 20, "12m")):
        m = message("Umsatzliste %s" % name, "Die Liste im Anhang.\n")
        attach(m, csv_report(size), "umsatz-%s.csv" % name, "text/csv")
        c.add("csv-%s" % name, m)
    m = message("Eine Zeile Text und ein großes PDF", "Anbei.\n")
    attach(m, read(pdf) * 24, "gesamt.pdf", "application/pdf")	# 24 revisions of one document in one file
    c.add("text-line-and-6mb-pdf", m)
    c.add("size-overstated", message("SIZE= zu groß angegeben", GERMAN), size=60000000)
    m = message("SIZE= zu groß, mit Anhang", GERMAN)
    attach(m, read(pdf), os.path.basename(pdf))
    c.add("size-overstated-pdf", m, size=60000000)


def archives(c, out, docs):
    """Archives made by the command-line tools offices use: 7-Zip, and zip with a password."""
    work = os.path.join(out, "keys", "docs")
    os.makedirs(work, exist_ok=True)
    for name, data in docs.items():
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    names = sorted(docs)
    subprocess.run(["7z", "a", "-bd", "-y", "../docs.7z"] + names, cwd=work, check=True, capture_output=True)
    m = message("Unterlagen als 7z")
    attach(m, read(os.path.join(work, "..", "docs.7z")), "Unterlagen.7z", "application/x-7z-compressed")
    c.add("7z-of-documents", m)
    # The password goes by telephone, as a German office sends payroll: encrypted, not inspectable.
    subprocess.run(["zip", "-q", "-P", "Sommer2026", "../lohn.zip"] + names, cwd=work, check=True)
    m = message("Lohnabrechnungen (Passwort telefonisch)")
    attach(m, read(os.path.join(work, "..", "lohn.zip")), "Lohnabrechnungen.zip", "application/zip")
    c.add("zip-with-password", m, expect=ENCRYPTED)
    subprocess.run(["7z", "a", "-bd", "-y", "-pSommer2026", "../lohn.7z"] + names, cwd=work, check=True,
                   capture_output=True)
    m = message("Lohnabrechnungen als 7z (Passwort telefonisch)")
    attach(m, read(os.path.join(work, "..", "lohn.7z")), "Lohnabrechnungen.7z", "application/x-7z-compressed")
    c.add("7z-with-password", m, expect=ENCRYPTED)
    # 7-Zip's "Encrypt file names": the list of members is encrypted too.
    subprocess.run(["7z", "a", "-bd", "-y", "-pSommer2026", "-mhe=on", "../lohn-names.7z"] + names, cwd=work,
                   check=True, capture_output=True)
    m = message("Lohnabrechnungen als 7z, Namen verschlüsselt")
    attach(m, read(os.path.join(work, "..", "lohn-names.7z")), "Lohnabrechnungen.7z", "application/x-7z-compressed")
    c.add("7z-with-password-and-names", m, expect=ENCRYPTED)
    shutil.rmtree(work)


def own(c, pdf, html_doc):
    """More of what businesses send every day."""
    m = message("お見積りの件", "いつもお世話になっております。\nお見積書を添付いたします。\nよろしくお願いいたします。\n")
    m.set_content("いつもお世話になっております。\nお見積書を添付いたします。\n", charset="iso-2022-jp", cte="7bit")
    attach(m, read(pdf), "見積書.pdf", "application/pdf")
    c.add("iso-2022-jp-with-pdf", m)
    # A read receipt (RFC 8098), as Outlook and Thunderbird send one.
    m = MIMEMultipart("report", report_type="disposition-notification", policy=POLICY)
    m["From"] = SENDER
    m["To"] = RCPT
    m["Subject"] = "Gelesen: Rechnung 2026-1187"
    m["Date"] = formatdate(1796558400)
    m.attach(MIMEText("Ihre Nachricht wurde gelesen.\n", "plain", "utf-8", policy=POLICY))
    mdn = MIMEBase("message", "disposition-notification", policy=POLICY)
    mdn.set_payload("Reporting-UA: supplier.example; Thunderbird\nFinal-Recipient: rfc822;buchhaltung@supplier."
                    "example\nOriginal-Message-ID: <4711@example.com>\nDisposition: manual-action/MDN-sent-"
                    "manually; displayed\n")
    m.attach(mdn)
    c.add("read-receipt", m)
    # HTML as a web mailer writes it: long lines (under SMTP's 998), 8bit.
    html = read(html_doc).decode("utf-8", "replace")
    long_html = "".join(html.split("\n"))
    lines = [long_html[i:i + 900] for i in range(0, len(long_html), 900)]
    m = message("Webansicht", GERMAN)
    m.add_alternative("\n".join(lines) + "\n", subtype="html", cte="8bit")
    c.add("html-long-lines-8bit", m)
    # An invoice from an accounting system: no text, the PDF alone (Content-Type of the message itself).
    m = EmailMessage()
    m["From"] = "rechnung@supplier.example"
    m["To"] = RCPT
    m["Subject"] = "Rechnung 2026-1188"
    m["Date"] = formatdate(1796558400)
    m.set_content(read(pdf), maintype="application", subtype="pdf", disposition="attachment",
                  filename="Rechnung-2026-1188.pdf")
    c.add("pdf-only-no-text", m)
    # A sloppy mailer's message with a default Content-Type header before its real one, and a part
    # whose one header names two types: readers differ on which counts; every reading is harmless.
    m = message("Unterlagen (zwei Content-Type)", GERMAN)
    attach(m, read(pdf), "Vertrag.pdf", "application/pdf")
    data = m.as_bytes(policy=POLICY)
    data = data.replace(b"\nContent-Type: multipart/mixed", b"\nContent-Type: text/plain\nContent-Type: multipart/mixed", 1)
    data = data.replace(b"Content-Type: application/pdf", b"Content-Type: application/pdf; application/octet-stream", 1)
    c.add("two-content-types", data)
    # A PDF in BinHex 4.0, as a Mac mailer sends it, encoded by Convert::BinHex (libconvert-binhex-perl).
    hqx = subprocess.run(["perl", "-MConvert::BinHex", "-e", '$h = Convert::BinHex->new; $h->filename("Vertrag.pdf");'
                          ' $h->type("PDF "); $h->creator("CARO"); $h->data(Path => $ARGV[0]); $h->resource(Data => "");'
                          " $h->encode(\\*STDOUT)", pdf], check=True, capture_output=True).stdout
    m = message("Vertrag (BinHex)", GERMAN)
    m.add_attachment(hqx, maintype="application", subtype="mac-binhex40", filename="Vertrag.pdf.hqx", cte="7bit")
    c.add("pdf-in-binhex", m)
    # A reply quoting the whole thread, with the signature logo repeated three times.
    m = message("AW: AW: AW: Termin", "Passt.\n\n" + "".join("> " * i + l + "\n" for i in range(1, 4)
                                                         for l in GERMAN.splitlines()))
    c.add("reply-quoted-thread", m)


def newsletter(c, pngs):
    """HTML with inline images, as newsletter software and Outlook send it."""
    m = message("Newsletter Dezember", "Unser Newsletter im Dezember (HTML-Ansicht).\n")
    imgs = "".join('<p><img src="cid:img%d@supplier.example" alt="Bild %d"></p>' % (i, i) for i in range(3))
    m.add_alternative("<html><body><h1>Newsletter Dezember</h1><p>Liebe Kundinnen und Kunden, "
                      "hier sind unsere Neuigkeiten für Sie.</p>%s</body></html>\n" % imgs, subtype="html")
    html = m.get_payload()[1]
    for i, p in enumerate(pngs[:3]):
        html.add_related(read(p), maintype="image", subtype="png", cid="<img%d@supplier.example>" % i,
                         filename=os.path.basename(p))
    c.add("html-newsletter", m)
    m = message("Angebot mit Logo und PDF", "Angebot anbei.\n")
    m.add_alternative("<html><body><img src=\"cid:logo@supplier.example\"><p>Angebot anbei.</p></body></html>\n",
                      subtype="html")
    m.get_payload()[1].add_related(read(pngs[0]), maintype="image", subtype="png", cid="<logo@supplier.example>")
    m.add_attachment(docx(GERMAN), maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="Angebot.docx")
    c.add("outlook-mixed-related-alternative", m)


def calendar(c):
    ics = ("BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\n"
           "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E008-legit\r\n"
           "DTSTAMP:20261206T090000Z\r\nDTSTART:20261210T130000Z\r\nDTEND:20261210T140000Z\r\n"
           "SUMMARY:Abstimmung Jahresabschluss\r\nLOCATION:Besprechungsraum Köln\r\n"
           "ORGANIZER;CN=Jürgen Bäcker:mailto:buchhaltung@supplier.example\r\n"
           "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:info@example.com\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n")
    m = message("Einladung: Abstimmung Jahresabschluss", "Einladung zur Abstimmung am 10. Dezember.\n")
    m.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    m.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invite.ics")
    c.add("calendar-invitation", m)
    vcf = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jürgen Bäcker\r\nORG:Supplier GmbH\r\n"
           "EMAIL:buchhaltung@supplier.example\r\nEND:VCARD\r\n")
    m = message("Meine Kontaktdaten")
    m.add_attachment(vcf, subtype="vcard", filename="juergen.vcf")
    c.add("vcard", m)


def forwarded(c, pdf):
    inner = message("Bestellung 4711")
    attach(inner, read(pdf), os.path.basename(pdf))
    fwd = message("WG: Bestellung 4711", "Bitte bearbeiten, siehe weitergeleitete Nachricht.\n")
    fwd.add_attachment(inner)
    c.add("forwarded", fwd)
    fwd = message("Fwd: Bestellung 4711 (inline)", "Weitergeleitet.\n")
    fwd.add_attachment(inner, disposition="inline")
    c.add("forwarded-inline", fwd)
    # Some mailers (Outlook among them) send a forwarded message base64-encoded.
    part = MIMEBase("message", "rfc822", policy=POLICY)
    part.set_payload(inner.as_bytes(policy=email.policy.SMTP))
    encoders.encode_base64(part)
    part["Content-Disposition"] = 'attachment; filename="Bestellung 4711.eml"'
    fwd = message("WG: Bestellung 4711 (base64)", "Weitergeleitet, als Anlage.\n")
    fwd.make_mixed()
    fwd.attach(part)
    c.add("forwarded-base64", fwd)
    # A partner's own filter marked it before it left: hostmilter's marks replace these.
    m = message("Rückfrage (vom Partner gefiltert)", GERMAN)
    for name, value in (("X-Virus-Scanned", "ClamAV using ClamSMTP"), ("X-Virus-Status", "Clean"),
                        ("X-Spam-Status", "No, score=-1.0 required=5.0"), ("X-Spam-Flag", "NO"),
                        ("X-Spam-Score", "-1.0")):
        m[name] = value
    c.add("marked-upstream", m)


def digest(c):
    """A mailing list's digest (RFC 2046 multipart/digest), as Mailman builds it."""
    d = MIMEMultipart("digest", policy=POLICY)
    for i in range(5):
        part = MIMEText("Beitrag %d zur Diskussion.\n" % i + GERMAN, "plain", "utf-8", policy=POLICY)
        part["From"] = "teilnehmer%d@list.example" % i
        part["Subject"] = "Re: Jahresabschluss (%d)" % i
        d.attach(MIMEMessage(part, policy=POLICY))
    outer = MIMEMultipart("mixed", policy=POLICY)
    outer["From"] = "list-request@list.example"
    outer["To"] = RCPT
    outer["Subject"] = "Liste Digest, Band 3, Ausgabe 12"
    outer["Date"] = formatdate(1796558400)
    outer.attach(MIMEText("Inhalt dieser Ausgabe: 5 Beiträge\n", "plain", "utf-8", policy=POLICY))
    outer.attach(d)
    c.add("mailman-digest", outer)


def uuencode(data, name):
    lines = ["begin 644 %s" % name]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end", ""]
    return "\n".join(lines)


def types(c, pngs, html_doc):
    """One message for each attachment type the sample policy does not block (it blocks
    application/x-dosexec), from the first real file found; a type no installed package ships a file
    of is named in OUTDIR/skipped.txt."""
    g = glob.glob
    files = [
        ("text/plain", ["/usr/share/common-licenses/GPL-3"]), ("text/csv", None), ("text/html", [html_doc]),
        ("application/xml", ["/usr/share/mime/packages/freedesktop.org.xml"]),
        ("application/json", g("/usr/share/doc/*/api/*.json") + g("/usr/share/rspamd/**/*.json", recursive=True)),
        ("image/svg+xml", g("/usr/share/doc/*/*.svg") + g("/usr/share/rspamd/www/**/*.svg", recursive=True)),
        ("image/png", [pngs[0]]), ("image/jpeg", [PYDATA + "/python.jpg"]), ("image/gif", [PYDATA + "/python.gif"]),
        ("image/bmp", [PYDATA + "/python.bmp"]), ("image/tiff", [PYDATA + "/python.tiff"]),
        ("image/webp", [PYDATA + "/python.webp"]), ("image/vnd.microsoft.icon", g("/usr/share/rspamd/www/*.ico")),
        ("audio/x-wav", [PYDATA + "/sndhdr.wav"]), ("audio/x-aiff", [PYDATA + "/sndhdr.aiff"]),
        ("audio/basic", [PYDATA + "/sndhdr.au"]), ("application/gzip", g("/usr/share/doc/*/changelog.Debian.gz")),
        ("application/x-xz", g("/usr/share/gettext/archive.dir.tar.xz")),
        ("application/java-archive", g("/usr/share/maven-repo/**/*.jar", recursive=True)),
        ("font/ttf", g("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") + g("/usr/share/rspamd/www/fonts/*.ttf")),
        ("font/woff", g("/usr/share/rspamd/www/fonts/*.woff")),
        ("application/postscript", g("/usr/share/vim/vim*/print/*.ps")),
        ("application/x-shellscript", ["/usr/bin/ldd"]), ("text/x-python", [sys.argv[0]]),
        ("application/x-sharedlib", ["/usr/bin/true"]),
    ]
    skipped = []
    for mime, candidates in files:
        found = sorted(p for p in candidates or [] if os.path.isfile(p))
        if candidates is not None and not found:
            skipped.append(mime)
            continue
        name = os.path.basename(found[0]) if found else "liste.csv"
        data = read(found[0]) if found else csv_report(4000)
        m = message("Datei %s" % name)
        attach(m, data, name, mime)
        c.add("type-" + re.sub(r"[^a-z0-9]+", "-", mime), m)
    with open(os.path.join(c.out, "skipped.txt"), "w") as f:
        f.write(" ".join(skipped) + "\n")


# ---- public corpora of real mail ----
def outlook_tnef(c):
    """Outlook's winmail.dat, in the MIME structure Outlook sends it in."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tnef", "outlook16-recall.dat.b64")
    tnef = binascii.a2b_base64(read(path))
    m = MIMEMultipart("mixed")
    m["From"], m["To"], m["Subject"] = SENDER, RCPT, "Recall: Angebot 2026-117"
    m["Date"], m["Message-ID"], m["X-Mailer"] = formatdate(localtime=True), make_msgid(), "Microsoft Outlook 16.0"
    m.attach(MIMEText("Buchhaltung would like to recall the message, \"Angebot 2026-117\".\n", "plain", "us-ascii"))
    part = MIMEBase("application", "ms-tnef", name="winmail.dat")
    part.set_payload(tnef)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename="winmail.dat")
    m.attach(part)
    c.add("tnef-outlook", m, origin="outlook")


def real(c):
    corpora = [
        ("python", sorted(glob.glob(PYDATA + "/msg_*.txt"))),
        ("enmime", sorted(glob.glob(ENMIME + "/mail/*.raw") + glob.glob(ENMIME + "/low-quality/*.raw"))),
        ("spamassassin", ["/usr/share/doc/spamassassin/examples/sample-nonspam.txt"]),
    ]
    for origin, files in corpora:
        need(files, "%s mail corpus" % origin)
        for path in files:
            data = read(path)
            if data.startswith(b"// Not an RFC-822 Document"):
                continue	# enmime's erroneous.raw: its test of input that is no mail at all
            if data.startswith(b"From "):
                data = data.split(b"\n", 1)[1]
            name = origin + "-" + os.path.splitext(os.path.basename(path))[0]
            c.add(name, data, origin=origin)
    outlook_tnef(c)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    c = Corpus(out)
    made(c, out)
    real(c)
    c.write_manifest()


if __name__ == "__main__":
    main()
