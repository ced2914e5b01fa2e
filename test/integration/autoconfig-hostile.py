#!/usr/bin/env python3
"""autoconfig-hostile PORT TIMEOUT CONNECTIONS: hostile clients at hostautoconfig.

Each case sends what a broken or hostile client might and checks how it
was answered (refused with the status a client can act on, or cut off),
then that a well-behaved request is answered again (tried until a
deadline, never after a guessed pause).  TIMEOUT and CONNECTIONS are the
responder's -t and -c.  Prints "ok NAME" or "FAIL NAME: why" per case.
"""
import random
import socket
import sys
import time

PORT = int(sys.argv[1])
TIMEOUT = int(sys.argv[2])
CONNECTIONS = int(sys.argv[3])
GOOD = (b"GET /mail/config-v1.1.xml?emailaddress=info%40example.com HTTP/1.1\r\n"
        b"Host: autoconfig.example.com\r\nConnection: close\r\n\r\n")
NS = b"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
rng = random.Random(20261206)
results = []


def connect():
    return socket.create_connection(("127.0.0.1", PORT), timeout=5)


def exchange(data, wait=5.0, sock=None):
    """Sends data, returns what comes back until the server closes or wait passes."""
    s = sock or connect()
    try:
        s.sendall(data)
    except OSError:
        pass
    s.settimeout(wait)
    got = b""
    deadline = time.monotonic() + wait
    try:
        while len(got) < 1 << 20 and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    s.close()
    return got


def status(reply):
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def healthy(deadline):
    while True:
        try:
            if status(exchange(GOOD, wait=3)) == 200:
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def case(name, check):
    """check() returns None when the answer was right, else why not."""
    try:
        why = check()
    except OSError as e:
        why = "socket error %s" % e
    if why is None and not healthy(time.monotonic() + TIMEOUT + 10):
        why = "a good request was not answered afterwards"
    print(("ok %s" % name) if why is None else ("FAIL %s: %s" % (name, why)), flush=True)
    results.append(why is None)


def expect(reply, *codes):
    got = status(reply)
    return None if got in codes else "status %r, wanted %s (%r)" % (got, codes, reply[:80])


def post(body, extra=b""):
    return (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: autodiscover.example.com\r\n"
            b"Content-Type: text/xml\r\nConnection: close\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def get(target, host=b"autoconfig.example.com", extra=b""):
    return (b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n" + extra + b"\r\n")


# ---- bodies ----

def huge_declared():
    s = connect()
    s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x.example\r\nContent-Length: 1073741824\r\n\r\n"
              + b"<" * 65536)
    return expect(exchange(b"", sock=s), 413)


def huge_chunked():
    """More than the limit in chunks: cut off before the client is done sending."""
    s = connect()
    s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x.example\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"1000\r\n" + b"a" * 4096 + b"\r\n"
    sent = 0
    try:
        for _ in range(4096):  # 16 MB
            s.sendall(chunk)
            sent += 4096
    except OSError:
        pass
    s.close()
    return None if sent < 16 << 20 else "16 MB accepted"


def billion_laughs():
    body = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10))
            + b']><Autodiscover xmlns="' + NS + b'"><Request><EMailAddress>&lol9;</EMailAddress></Request></Autodiscover>')
    start = time.monotonic()
    why = expect(exchange(post(body)), 400)
    return why or (None if time.monotonic() - start < 2 else "took %.1f s" % (time.monotonic() - start))


def external_entity():
    body = (b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/shadow">]><Autodiscover xmlns="' + NS
            + b'"><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>')
    reply = exchange(post(body))
    return expect(reply, 400) or (None if b"root:" not in reply else "leaked a file")


def parameter_entity():
    body = (b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://192.0.2.1/x.dtd"> %p;]><Autodiscover xmlns="' + NS
            + b'"/>')
    return expect(exchange(post(body)), 400)


def deep_nesting():
    body = b'<Autodiscover xmlns="' + NS + b'">' + b"<a>" * 2000
    return expect(exchange(post(body)), 400)


def invalid_utf8_xml():
    body = (b'<Autodiscover xmlns="' + NS + b'"><Request><EMailAddress>\xff\xfe\xc3(@example.com'
            b"</EMailAddress></Request></Autodiscover>")
    return expect(exchange(post(body)), 400)


def utf16_xml():
    body = ('<?xml version="1.0" encoding="UTF-16"?><Autodiscover xmlns="%s"><Request><EMailAddress>'
            'info@example.com</EMailAddress></Request></Autodiscover>' % NS.decode()).encode("utf-16")
    return expect(exchange(post(body)), 400, 200)


def length_and_chunked():
    """Both framings (a smuggling attempt): refused or read one way, never two requests."""
    data = (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x.example\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + GOOD)
    reply = exchange(data)
    return None if reply.count(b"HTTP/1.1 200") == 0 else "a smuggled request was answered"


# ---- query strings, paths, headers ----

def invalid_utf8_query():
    return expect(exchange(get(b"/mail/config-v1.1.xml?emailaddress=%FF%FE%C3%28%40example.com")), 400)


def nul_in_query():
    return expect(exchange(get(b"/mail/config-v1.1.xml?emailaddress=info%00%40example.com")), 400, 404)


def invalid_utf8_path():
    reply = exchange(get(b"/mail/config-v1.1.xml\xff\xfe"))
    return None if status(reply) and 400 <= status(reply) < 500 else "status %r" % status(reply)


def traversal():
    return expect(exchange(get(b"/mail/../../../etc/passwd")), 404, 400)


def many_arguments():
    return expect(exchange(get(b"/mail/config-v1.1.xml?" + b"&".join(b"a%d=1" % i for i in range(200)))), 400)


def twice_the_address():
    return expect(exchange(get(b"/mail/config-v1.1.xml?emailaddress=info%40example.com&emailaddress=x%40example.com")),
                  400)


def long_address():
    return expect(exchange(get(b"/mail/config-v1.1.xml?emailaddress=" + b"a" * 3000 + b"%40example.com")), 400, 414)


def bad_hosts():
    for host in [b"", b"a" * 300 + b".example", b"ex ample.com", b"[::1]", b"a..b.example", b"example.com:99999",
                 b"exa\x7fmple.com", b"\xc3\xa9xample.com", b"192.0.2.1", b"autoconfig.example.com:80:80"]:
        got = status(exchange(get(b"/mail/config-v1.1.xml", host=host)))
        if got not in (400, 404):
            return "Host %r: status %r" % (host[:40], got)
    return None


def two_hosts():
    reply = exchange(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: autoconfig.example.com\r\nHost: autoconfig.example.org"
                     b"\r\nConnection: close\r\n\r\n")
    return None if status(reply) in (200, 400, 404) else "status %r" % status(reply)


def huge_header():
    return expect(exchange(get(b"/mail/config-v1.1.xml", extra=b"Cookie: " + b"c" * 40000 + b"\r\n")), 431, 400, 413)


def many_headers():
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(3000))
    return expect(exchange(get(b"/mail/config-v1.1.xml", extra=extra)), 431, 400, 413)


def forwarded_garbage():
    return expect(exchange(get(b"/mail/config-v1.1.xml?emailaddress=info%40example.com",
                               extra=b"X-Forwarded-For: 1.2.3.4, <script>\r\n")), 400)


def garbage():
    for _ in range(50):
        try:
            exchange(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))), wait=0.5)
        except OSError:
            pass
    return None


def bad_methods():
    for method in [b"PUT", b"DELETE", b"OPTIONS", b"TRACE"]:
        got = status(exchange(method + b" /mail/config-v1.1.xml HTTP/1.1\r\nHost: x.example\r\nConnection: close\r\n\r\n"))
        if got not in (405, 400, 501):
            return "%s: status %r" % (method.decode(), got)
    return None


# ---- time ----

def slowloris():
    """Clients trickling a request byte by byte are cut off after TIMEOUT, and do not hold up others."""
    slow = []
    for _ in range(min(20, CONNECTIONS // 2)):
        s = connect()
        s.setblocking(False)
        slow.append(s)
    start = time.monotonic()
    line = GOOD
    closed = set()
    i = 0
    while time.monotonic() - start < TIMEOUT + 6 and len(closed) < len(slow):
        for k, s in enumerate(slow):
            if k in closed:
                continue
            try:
                s.send(line[i % len(line):i % len(line) + 1])
                if s.recv(1) == b"":
                    closed.add(k)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(k)
        if i == 3 and not healthy(time.monotonic() + 3):
            return "a good request waited behind the slow ones"
        i += 1
        time.sleep(0.5)
    for s in slow:
        s.close()
    elapsed = time.monotonic() - start
    if len(closed) < len(slow):
        return "%d of %d slow clients still connected after %.0f s" % (len(slow) - len(closed), len(slow), elapsed)
    return None


def connection_flood():
    """More idle connections than allowed: the others wait at most TIMEOUT for a place."""
    idle = []
    for _ in range(CONNECTIONS + 20):
        try:
            idle.append(connect())
        except OSError:
            break
    ok = healthy(time.monotonic() + TIMEOUT + 8)
    for s in idle:
        s.close()
    return None if ok else "no place for a good request"


def body_never_comes():
    s = connect()
    s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x.example\r\nContent-Length: 500\r\n\r\n<Auto")
    start = time.monotonic()
    exchange(b"", wait=TIMEOUT + 5, sock=s)
    took = time.monotonic() - start
    return None if took < TIMEOUT + 4 else "held for %.0f s" % took


for name, fn in [("a body of 1 GB announced: 413 before it is read", huge_declared),
                 ("a chunked body past the limit: cut off", huge_chunked),
                 ("billion laughs: 400 at once", billion_laughs),
                 ("an external entity: 400, nothing read", external_entity),
                 ("a parameter entity: 400", parameter_entity),
                 ("nesting 2,000 deep: 400", deep_nesting),
                 ("XML that is not UTF-8: 400", invalid_utf8_xml),
                 ("UTF-16 XML: answered or refused", utf16_xml),
                 ("Content-Length and chunked: no smuggled request", length_and_chunked),
                 ("a query that is not UTF-8: 400", invalid_utf8_query),
                 ("a NUL byte in the query: refused", nul_in_query),
                 ("a path that is not UTF-8: 4xx", invalid_utf8_path),
                 ("../ in the path: 404", traversal),
                 ("200 query arguments: 400", many_arguments),
                 ("the address twice: 400", twice_the_address),
                 ("a 3,000-byte address: 400", long_address),
                 ("bad Host headers: 400 or 404", bad_hosts),
                 ("two Host headers: one of them or 400", two_hosts),
                 ("a 40 KB header: 431", huge_header),
                 ("3,000 headers: 431", many_headers),
                 ("X-Forwarded-For ending in garbage: 400", forwarded_garbage),
                 ("random bytes on 50 connections", garbage),
                 ("PUT, DELETE, OPTIONS, TRACE: 405", bad_methods),
                 ("slowloris: trickling clients cut off after the timeout", slowloris),
                 ("more idle connections than allowed: others get a place", connection_flood),
                 ("a body that never comes: cut off after the timeout", body_never_comes)]:
    case(name, fn)
sys.exit(0 if all(results) else 1)
