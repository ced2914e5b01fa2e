#!/usr/bin/python3
"""legit-check - send the legit corpus and judge what came out, one line a message.

  legit-check.py smtp CONFIG PORT RUN      each message of RUN/corpus/manifest.tsv
      through the test sendmail on PORT (smtp-probe.py, from 127.0.0.5, with the
      SIZE= a real MTA declares); judged by the reply, the queue file (qf, not hf
      as a quarantined one), the headers hostmilter wrote, and the df file against
      the body that was sent.
  legit-check.py hostscan CONFIG HOSTSCAN CONF RUN  each message through `hostscan -c CONF
      -r info@example.com --filter`: exit 0, hostmilter's headers, the body as given.
  legit-check.py table RUN CONFIG...       the summary table, as TAP diagnostics.
  legit-check.py agree RUN BASE OTHER      the messages on which two configurations disagree.

Prints "ok|not ok<TAB>description<TAB>detail" per message for t-legit.sh to
count, and appends "name<TAB>size<TAB>verdict" to RUN/verdicts-CONFIG.tsv.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SENDER = "buchhaltung@supplier.example"
RCPT = "info@example.com"
HEADER = re.compile(rb"^[^\x00-\x20\x7f:]+[ \t]*:")


def body_of(data):
    """The body as Sendmail's collect() sees it: headers end at the first empty line (which is not
    kept) or at the first line that is neither a header field nor a continuation (which is)."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end]
        if line in (b"", b"\r"):
            return data[end + 1:]
        if not (HEADER.match(line) or (pos > 0 and line[:1] in (b" ", b"\t"))):
            return data[pos:]
        pos = end + 1
    return b""


def lf(data):
    """Every line end (CRLF, LF, a lone CR) as LF, and one at the end: a body as Sendmail's df file keeps
    it, once the message went over SMTP with CRLF line ends (crlf())."""
    data = re.sub(rb"\r\n|\r|\n", b"\n", data)
    return data if data.endswith(b"\n") else data + b"\n"


def crlf(data):
    """The message as an MTA sends it: every line end CRLF (Sendmail refuses a bare LF: 421 4.5.0)."""
    return lf(data).replace(b"\n", b"\r\n")


def manifest(run):
    with open(os.path.join(run, "corpus", "manifest.tsv")) as f:
        for line in f:
            name, path, size, expect, origin = line.rstrip("\n").split("\t")
            yield name, path, int(size), expect


def human(n):
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return "%d %s" % (n, unit) if unit == "B" else "%.1f %s" % (n, unit) if n < 10 else "%d %s" % (n, unit)
        n /= 1024


def headers_of(lines):
    """(name, value) of each header line of a qf file ("H??Name: value", continuations with a tab)."""
    out = []
    for line in lines:
        if line.startswith("H"):
            m = re.match(r"^H(?:\?[^?]*\?)?([^:]+):\s*(.*)$", line)
            if m:
                out.append([m.group(1).lower(), m.group(2)])
        elif line.startswith("\t") and out:
            out[-1][1] += " " + line.strip()
    return out


def judge_marks(headers, expect):
    """What is wrong with hostmilter's marks, or None."""
    status = [v for k, v in headers if k == "x-virus-status"]
    # hostmilter's spam mark is "X-Spam-Flag: YES".  A sender's "NO" is left alone where no spam engine
    # runs (marks_owned: hostmilter owns the spam headers only when it scans for spam).
    flags = [v for k, v in headers if k == "x-spam-flag" and v.strip().upper().startswith("YES")]
    if flags:
        return "marked X-Spam-Flag: %s" % flags[0]
    if status != [expect]:
        return "X-Virus-Status %s, want %s" % (" | ".join(status) or "missing", expect)
    return None


def new_log(log, offset):
    """hostmilter's log lines since OFFSET that say why a message was not passed."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(l for l in text.splitlines() if re.search(r"tempfail|reject|quarantin|fail|error|warning", l))


def log_size(log):
    try:
        return os.path.getsize(log)
    except OSError:
        return 0


def short(step):
    """A refusal for the table: "451 4.7.1", with the step when it was not DATA ("MAIL 452 4.3.1")."""
    m = re.match(r"^(DATA|MAIL|RCPT <[^>]*>|EHLO) (\d{3})(?: ([245]\.\d+\.\d+))?", step)
    if not m:
        return step.split(":")[0][:26]
    return " ".join(x for x in ("" if m.group(1) == "DATA" else m.group(1).split()[0], m.group(2), m.group(3)) if x)


def smtp_one(port, run, path, size, expect):
    """(verdict, problem or None, detail) of one message through Sendmail and hostmilter."""
    with open(path, "rb") as f:
        data = f.read()
    log = os.path.join(run, "hostmilter.log")
    offset = log_size(log)
    wire = os.path.join(run, "wire.eml")
    with open(wire, "wb") as f:
        f.write(crlf(data))
    out = subprocess.run(["python3", os.path.join(HERE, "smtp-probe.py"), str(port), "--source", "127.0.0.5",
                          "--from", SENDER, "--to", RCPT, "--message", wire, "--size", str(size or os.path.getsize(wire))],
                         capture_output=True, text=True).stdout
    last = out.strip().splitlines()[-1] if out.strip() else "no answer"
    m = re.match(r"^DATA (\d{3}) (?:[245]\.\d+\.\d+ )?(\S+)", last)
    if not m or m.group(1) != "250":
        return short(last), "not delivered", last + " -- " + new_log(log, offset)
    qid = m.group(2)
    queue = os.path.join(run, "queue")
    qf, hf, df = (os.path.join(queue, p + qid) for p in ("qf", "hf", "df"))
    try:
        if os.path.exists(hf):
            return "250, quarantined (hf)", "quarantined", new_log(log, offset)
        if not os.path.exists(qf):
            return "250, no queue file", "no queue file " + qid, ""
        with open(qf, encoding="utf-8", errors="replace") as f:
            headers = headers_of(f.read().splitlines())
        status = " ".join(v for k, v in headers if k == "x-virus-status") or "unmarked"
        problem = judge_marks(headers, expect)
        if problem:
            return "250 " + status, problem, new_log(log, offset)
        with open(df, "rb") as f:
            got = f.read()
        want = body_of(lf(data))
        if got != want:
            return "250 %s, body changed" % status, "body changed: %d bytes, sent %d" % (len(got), len(want)), ""
        return "250 " + status, None, ""
    finally:
        for p in (qf, hf, df):
            if os.path.exists(p):
                os.unlink(p)


def procmail_split(data):
    """Header and body as procmail, which runs hostscan --filter, reads them: the header ends at the
    first empty line.  (Sendmail's split, body_of(), differs only for a message without that line,
    which no MTA delivers: it writes one after the header it kept.)"""
    end = data.find(b"\n\n")
    return (data, b"") if end < 0 else (data[:end + 1], data[end + 2:])


def hostscan_one(hostscan, conf, run, path, expect):
    with open(path, "rb") as f:
        data = f.read()
    env = dict(os.environ, TMPDIR=os.path.join(run, "tmp"))
    p = subprocess.run([hostscan, "-c", conf, "-r", RCPT, "--filter"], input=data, capture_output=True, env=env)
    err = p.stderr.decode("utf-8", "replace").strip().replace("\n", " | ")
    if p.returncode != 0:
        return "exit %d" % p.returncode, "exit %d" % p.returncode, err
    head, body = procmail_split(p.stdout)
    headers = [[k.strip().lower(), re.sub(r"\s+", " ", v).strip()] for k, v in
               re.findall(r"(?m)^([^\s:]+):[ \t]*(.*(?:\n[ \t].*)*)", head.decode("utf-8", "replace"))]
    status = " ".join(v for k, v in headers if k == "x-virus-status") or "unmarked"
    problem = judge_marks(headers, expect)
    if problem:
        return "0 " + status, problem, err
    if body != procmail_split(data)[1]:
        return "0 %s, body changed" % status, "body changed", err
    return "0 " + status, None, ""


def oneline(text):
    return re.sub(r"[\t\r\n]+", " ", text)


def run_corpus(mode, config, args, run):
    verdicts = open(os.path.join(run, "verdicts-%s.tsv" % config), "w")
    for name, path, size, expect in manifest(run):
        actual = os.path.getsize(path)
        if mode == "smtp":
            verdict, problem, detail = smtp_one(int(args[0]), run, path, size, expect)
        else:
            verdict, problem, detail = hostscan_one(args[0], args[1], run, path, expect)
        desc = "%s: %s (%s%s) %s" % (config, name, human(actual), ", SIZE=%d" % size if size else "",
                                     "delivered unchanged, " + expect if not problem else "-- " + problem)
        print("%s\t%s\t%s" % ("not ok" if problem else "ok", oneline(desc), oneline(detail or verdict)),
              flush=True)
        verdicts.write("%s\t%s\t%s\n" % (name, human(actual), oneline(verdict)))
    verdicts.close()


def table(run, configs):
    rows = {}
    order = []
    for config in configs:
        with open(os.path.join(run, "verdicts-%s.tsv" % config)) as f:
            for line in f:
                name, size, verdict = line.rstrip("\n").split("\t")
                if name not in rows:
                    rows[name] = {"size": size}
                    order.append(name)
                rows[name][config] = verdict
    width = max(len(n) for n in order)
    print("# %-*s %9s  %s" % (width, "shape", "size", "  ".join("%-26s" % c for c in configs)))
    for name in order:
        print("# %-*s %9s  %s" % (width, name, rows[name]["size"],
                                  "  ".join("%-26s" % rows[name].get(c, "-")[:26] for c in configs)))


def verdicts(run, config):
    with open(os.path.join(run, "verdicts-%s.tsv" % config)) as f:
        return dict((n, v) for n, _, v in (line.rstrip("\n").split("\t") for line in f))


def outcome(verdict):
    """What a verdict means for the recipient, whoever gave it: delivered with which X-Virus-Status,
    or not delivered."""
    m = re.match(r"^(?:250|0) (.*)$", verdict)
    return "delivered, " + m.group(1) if m else "not delivered"


def agree(run, base, other):
    """Messages on which two configurations disagree: the spool, the engine and the path through
    ScanService must not change the outcome, nor let hostscan call clean what hostmilter refuses."""
    a, b = verdicts(run, base), verdicts(run, other)
    for name in a:
        if outcome(a[name]) != outcome(b.get(name, "missing")):
            print("%s: %s %s, %s %s" % (name, base, a[name], other, b.get(name, "missing")))


def main():
    mode = sys.argv[1]
    if mode == "table":
        table(sys.argv[2], sys.argv[3:])
    elif mode == "agree":
        agree(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "smtp":
        run_corpus(mode, sys.argv[2], [sys.argv[3]], sys.argv[4])
    elif mode == "hostscan":
        run_corpus(mode, sys.argv[2], sys.argv[3:5], sys.argv[5])
    else:
        sys.exit("usage: legit-check.py smtp|hostscan|table ...")


if __name__ == "__main__":
    main()
