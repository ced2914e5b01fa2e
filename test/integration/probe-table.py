#!/usr/bin/python3
"""probe-table - hostmilter's decision on each address form, against Sendmail's own reading.

probe-table.py CF MTA MSA ORACLE LOG MAILBOXES: sends every sender and recipient
form of the probe list (issue 24: case, trailing dots, quoting, +detail, source
routes, %-hacks, !-paths, literals, the server's names, alias and generated
names) through the sendmail of CF, whose only guard is hostmilter (its log is
LOG), and compares each decision with how Sendmail itself reads the form:
  - sendmail -bv: the mailboxes a recipient or sender reaches (MAILBOXES, a
    comma list, are the export's; other local users are system accounts);
  - sendmail -bt, rulesets 3 (canonify) and 3,0 (parse): the domain and host;
  - the oracle sendmail on port ORACLE: the same maps without hostmilter and
    without promiscuous_relay, whose own relay check is the reference.
The rules compared, per form:
  R1 hostmilter never accepts a recipient from outside that Sendmail's own
     relay check refuses;
  R2 an ordinary form (marked legit) that the oracle accepts, hostmilter
     accepts too;
  R3 a recipient hostmilter accepts gets the rules of the one mailbox -bv
     says it reaches (the log's mailbox=), or none when it reaches none or
     several;
  R4 a generated alias name at a server name is refused (550 5.1.1) although
     -bv delivers it;
  S1 a sender Sendmail reads as at spam.example (blocked by example.com) is
     refused, however it is spelled; an ordinary sender elsewhere is not;
  S2 a sender refused as routing elsewhere (553 5.1.7) is one Sendmail
     indeed reads at another host than the one written;
  O1 an authenticated mailbox may send as a form exactly when Sendmail
     delivers that form to it (-bv) or it is one of its send_as entries.
Prints "PASS text" or "FAIL text" and "# detail" lines; t-probe.sh counts them.
"""
import re
import smtplib
import subprocess
import sys

CF, MTA, MSA, ORACLE, LOG = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
MAILBOXES = set(sys.argv[6].split(","))
SERVER_NAMES = ("xyz00.example.net", "mail.example.net")
SEND_AS = {"xyz00-info": [("sales", "example.com"), (None, "example.org")]}
DOMAIN_ALIASES = {"example.net": "example.com", "shop.example.net": "shop.example"}

# (form, legit): legit forms are ones people use; the rest are tricks.
RCPT_FORMS = [
    ("info@example.com", True), ("INFO@EXAMPLE.COM", True), ("Info@Example.Net", True),
    ("info@example.com.", True), ("INFO@EXAMPLE.NET.", True), ('"info"@example.com', True),
    ('"INFO"@Example.COM', True), ("info+x@example.com", True), ("info+x@example.net", True),
    ("info+@example.com", True), ("staff@example.com", True), ("staff+x@example.com", True),
    ("STAFF+X@EXAMPLE.NET.", True), ("sales@example.com", True), ("sales+a+b@example.com", True),
    ("boss@example.com", True), ("boss+x@example.com", True), ("lists@example.com", True),
    ("nobody@example.com", True), ("nobody+x@example.net", True), ("office@example.org", True),
    ("Office+x@EXAMPLE.ORG.", True), ("team@example.org", True), ("team+x@example.org", True),
    ("nobody@example.org", True), ("orders@shop.example", True), ("ORDERS@shop.example.net", True),
    ("orders+x@shop.example.net.", True), ("x@shop.example", True), ("postmaster@example.com", True),
    ("postmaster@shop.example.net", True), ("postmaster", True), ("Postmaster@xyz00.example.net", True),
    ("xyz00-info", True), ("xyz00-info@xyz00.example.net", True), ("XYZ00-INFO@MAIL.EXAMPLE.NET", True),
    ("xyz00-info+x@xyz00.example.net", True), ("xyz00-info@xyz00.example.net.", True),
    ("xyz00-office", True), ("xyz00-news", True), ("xyz00-news@mail.example.net", True),
    ("xyz00-sales+x", True), ("news@xyz00.example.net", True), ("root@xyz00.example.net", True),
    ("x@backup.example", True), ("X@BACKUP.EXAMPLE.", True), ("info@branch.example", True),
    ("Orders@Branch.Example", True), ("nobody@branch.example", False), ("postmaster@branch.example", True),
    ("friend@elsewhere.example", False), ("friend@elsewhere.example.", False),
    ("FRIEND@ELSEWHERE.EXAMPLE", False), ("info@sub.example.com", False),
    ("friend%elsewhere.example@example.com", False), ("friend%elsewhere.example@xyz00.example.net", False),
    ("info%example.net@example.com", False), ("elsewhere.example!friend@example.com", False),
    ("elsewhere.example!friend", False), ("example.com!info", False),
    ("@example.com:friend@elsewhere.example", False), ("@elsewhere.example:info@example.com", False),
    ("@a.example,@b.example:info@example.com", False), ('"friend@elsewhere.example"@example.com', False),
    ('"friend%elsewhere.example"@example.com', False), ('"a b"@example.com', False),
    ("friend@[127.0.0.9]", False), ("info@[127.0.0.1]", False), ("info.@example.com", False),
    ("sales=example.com", False), ("sales=example.com@xyz00.example.net", False),
    ("team=example.org@mail.example.net", False), ("Sales=Example.COM+x@xyz00.example.net", False),
]

# Senders from outside to info@example.com, whose domain blocks @spam.example.
BLOCK_FORMS = [
    ("x@spam.example", False), ("X@SPAM.EXAMPLE", False), ("x@spam.example.", False), ('"x"@spam.example', False),
    ('"x y"@spam.example', False), ("x+y@spam.example", False), ("@relay.example:x@spam.example", False),
    ("@a.example,@b.example:x@spam.example", False), ("x%y@spam.example", False), ("spam.example!x", False),
    ("x!y@spam.example", False), ('"x@y"@spam.example', False), ("y%spam.example@example.com", False),
    ("y%spam.example@xyz00.example.net", False), ("y%spam.example", False),
    ("x@sub.spam.example", True), ("x@spam.example.net", True), ("a@partner.example", True),
    ("A@Partner.Example.", True), ('"a b"@partner.example', True), ("y%spam.example@elsewhere.example", True),
    ("a+tag@partner.example", True), ("info@example.com", True), ("xyz00-info", False), ("", True),
]

# (mailbox, sender) on the MSA, authenticated as the mailbox.
OWN_FORMS = [("xyz00-info", f) for f in (
    "info@example.com", "INFO@example.net.", '"info"@example.com', "info+x@example.com", "staff+x@example.com",
    "STAFF+x@EXAMPLE.NET", "boss+x@example.com", "boss@example.com", "anything@example.com",
    "anything+x@example.net", '"a b"@example.com', "sales@example.com", "sales+x@example.com", "office@example.org",
    "office+x@example.org.", "xyz00-info@xyz00.example.net", "xyz00-info+x@mail.example.net",
    "xyz00-office", "root@xyz00.example.net", "@relay.example:info@example.com", "info%evil.example@example.com",
    "info!evil@example.com", "orders@shop.example", "orders+x@shop.example.net", "ceo@bank.example",
    "sales=example.com@xyz00.example.net")] + [("xyz00-office", f) for f in (
        "staff+x@example.com", "Staff@example.net", "team@example.org", "office+x@example.org.",
        "xyz00-news@xyz00.example.net", "XYZ00-News+x@mail.example.net", "info@example.com",
        "xyz00-office+x@xyz00.example.net", "postmaster@xyz00.example.net", "postmaster@example.com")]

results = []


def say(ok, text, *detail):
    print(("PASS " if ok else "FAIL ") + text)
    if not ok:
        for d in detail:
            print("# " + str(d))
    sys.stdout.flush()


def sendmail(*args, stdin=None):
    return subprocess.run(["sendmail", "-C", CF] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60).stdout


def bv(addr):
    """Sendmail's deliverable targets: [(mailer, host, user)]; [] when it refuses."""
    out = sendmail("-bv", addr)
    return [(m.group(1), m.group(2) or "", m.group(3))
            for m in re.finditer(r"deliverable: mailer ([^,\s]+), (?:host ([^,\s]+), )?user (.+)$", out, re.M)]


def untokenize(text):
    """Sendmail's token list, spaced out by -bt, as an address again."""
    out, quoted = [], False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        if c == " " and not quoted:
            continue
        out.append(c)
    return "".join(out)


def bt(ruleset, addr):
    """-bt's result of rulesets (3: canonify, 3,0: parse) for addr."""
    out = sendmail("-bt", stdin="%s %s\n" % (ruleset, addr))
    name = "canonify" if ruleset == "3" else "parse"
    lines = [l for l in out.splitlines() if re.match(r"\s*%s\s+returns:" % name, l)]
    return lines[-1].split("returns:", 1)[1].strip() if lines else ""


def canon(addr):
    """(local part, domain) as ruleset 3 reads it; domain "" when unqualified."""
    m = re.match(r"(.*)<@(.*)>$", untokenize(bt("3", addr)))
    if not m:
        return untokenize(bt("3", addr)).lower(), ""
    return m.group(1).lower(), m.group(2).lower().rstrip(".")


def host_of(addr):
    """The host ruleset 0 sends addr to ("" for local delivery)."""
    m = re.match(r"\$# (\S+)(?: \$@ (.*?))? \$:", bt("3,0", addr))
    if not m or m.group(1) in ("local", "prog", "*file*"):
        return ""
    return untokenize(m.group(2) or "").lower().rstrip(".")


def reached_mailboxes(targets):
    return sorted({user for mailer, host, user in targets if mailer == "local" and user in MAILBOXES})


def login(s, user, password):
    """AUTH, making the account again once should a test from another checkout have deleted it."""
    try:
        s.login(user, password)
    except smtplib.SMTPAuthenticationError:
        realm = subprocess.run(["hostname", "-f"], capture_output=True, text=True).stdout.strip()
        subprocess.run(["saslpasswd2", "-p", "-c", "-u", realm, user], input=password.encode(), check=False)
        s.login(user, password)


def smtp(port, source, sender, rcpt=None, auth=None):
    """(MAIL code, text, RCPT code, text) of one conversation."""
    s = smtplib.SMTP("127.0.0.1", port, source_address=(source, 0), timeout=60, local_hostname="client.example")
    try:
        s.ehlo()
        if auth:
            login(s, *auth)
        mc, mt = s.docmd("MAIL", "FROM:<%s>" % sender)
        rc, rt = (0, b"")
        if mc < 400 and rcpt is not None:
            rc, rt = s.docmd("RCPT", "TO:<%s>" % rcpt)
        s.rset()
        s.quit()
    except smtplib.SMTPServerDisconnected:
        return 421, "disconnected", 0, ""
    return mc, mt.decode(errors="replace"), rc, rt.decode(errors="replace")


def log_line(sender):
    with open(LOG, encoding="utf-8", errors="replace") as f:
        lines = [l for l in f if "from=<%s>" % sender in l and " to=<" in l]
    return lines[-1] if lines else ""


def recipients():
    for n, (form, legit) in enumerate(RCPT_FORMS):
        sender = "r%d@client.example" % n
        _, _, code, text = smtp(MTA, "127.0.0.5", sender, form)
        _, _, ocode, otext = smtp(ORACLE, "127.0.0.5", "o%d@client.example" % n, form)
        targets = bv(form)
        line = log_line(sender)
        m = re.search(r" mailbox=(\S+)", line)
        mailbox = m.group(1) if m else ""
        want = reached_mailboxes(targets)
        detail = ("hostmilter: %d %s" % (code, text), "oracle: %d %s" % (ocode, otext), "sendmail -bv: %s" % targets,
                  "log: %s" % line.strip())
        say(not (code < 400 and ocode >= 400), "R1 %s: never accepted where Sendmail refuses to relay" % form, *detail)
        if legit and ocode < 400 and not generated(form):
            say(code < 400, "R2 %s: an ordinary form Sendmail takes is taken" % form, *detail)
        if want == ["root"] and mailbox == "":
            want = []	# root has no rules of its own: named or not, it gets the defaults
        if code < 400:
            say(mailbox == (want[0] if len(want) == 1 else ""),
                "R3 %s: the rules of %s" % (form, want[0] if len(want) == 1 else "no single mailbox"), *detail)
        if generated(form):
            say(code == 550 and "5.1.1" in text and targets,
                "R4 %s: a generated alias name Sendmail delivers is refused" % form, *detail)


def generated(form):
    local, _, domain = form.rpartition("@") if "@" in form else (form, "", "")
    return "=" in local.split("+")[0] and (not domain or domain.lower().rstrip(".") in SERVER_NAMES)


def senders():
    for n, (form, legit) in enumerate(BLOCK_FORMS):
        mc, mt, rc, rt = smtp(MTA, "127.0.0.5", form, "info@example.com")
        host = host_of(form) if form else ""
        written = form.rpartition("@")[2].lower().rstrip(".") if "@" in form else ""
        detail = ("MAIL %d %s" % (mc, mt), "RCPT %d %s" % (rc, rt), "Sendmail's host: %r" % host)
        refused = mc >= 500 or rc >= 500
        if host == "spam.example":
            say(refused, "S1 sender %s, which Sendmail reads at spam.example, is refused" % form, *detail)
        elif legit:
            say(not refused, "S1 sender %s (Sendmail: %s) reaches info@example.com" % (form, host or "local"), *detail)
        if mc == 553 and "5.1.7" in mt:
            say(host != written, "S2 sender %s routes elsewhere in Sendmail's reading too (%s)" % (form, host),
                *detail)


def send_as(mailbox, form):
    local, domain = canon(form)
    domain = DOMAIN_ALIASES.get(domain, domain)
    user = local.split("+")[0] if not local.startswith("+") else local
    return any(d == domain and (l is None or l == user) for l, d in SEND_AS.get(mailbox, []))


def ownership():
    for mailbox, form in OWN_FORMS:
        mc, mt, _, _ = smtp(MSA, "127.0.0.5", form, None, (mailbox, "secret-" + mailbox))
        reached = reached_mailboxes(bv(form))
        owned = (mailbox in reached or send_as(mailbox, form)) and not generated(form)
        say((mc < 400) == owned, "O1 %s as %s: %s" % (mailbox, form, "owned" if owned else "not owned"),
            "MAIL %d %s" % (mc, mt), "sendmail -bv reaches %s" % reached)


recipients()
senders()
ownership()
