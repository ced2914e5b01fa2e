#!/usr/bin/env python3
"""gen-export: writes a synthetic panel export (version 1) to stdout.

Shape, per domain: ADDRESSES/DOMAINS addresses; one in ten delivers to a
mailbox and an outside address (a generated alias), one in fifty is a
reject; a third of the domains have a catch-all, one in ten an alias domain.
One mailbox per five addresses.  Deterministic for a given --seed, so a
benchmark and its rerun see the same bytes.

With --autoconfig every domain opts in to mail client autoconfiguration,
with client settings in the defaults (autoconfig.db then lists every
address); the rest of the export is byte for byte the same, so a run with
it and one without measure what autoconfig.db costs.

With --routed the same domains and local parts make a gateway's export:
every domain is routed to one of 50 hives (a tenth on port 2526 behind
verified TLS), its addresses are its valid recipients, and there are no
mailboxes.
"""
import argparse
import random
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--domains", type=int, default=100000)
    p.add_argument("--addresses", type=int, default=1000000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--routed", action="store_true")
    p.add_argument("--autoconfig", action="store_true")
    a = p.parse_args()
    if a.routed:
        return routed(a)
    rnd = random.Random(a.seed)
    per_domain = max(1, a.addresses // a.domains)
    mailboxes = max(1, a.addresses // 5)
    out = sys.stdout
    w = out.write
    w('{"version": 1,\n "server": {"hostname": "bench.example.net", "names": ["mail.bench.example.net"]},\n')
    w(' "defaults": {"max_message_size": "128M", "virus": "reject", "blocked_types": ["application/x-dosexec"]')
    if a.autoconfig:
        w(',\n  "client_settings": {"imap": {"host": "imap.bench.example.net", "port": 993, "socket": "SSL"},'
          ' "smtp": {"host": "smtp.bench.example.net", "port": 587, "socket": "STARTTLS"}}')
    w('},\n "mailboxes": [\n')
    for m in range(mailboxes):
        sep = ",\n" if m else ""
        if m % 50 == 0:
            w(f'{sep}  {{"name": "u{m}", "max_message_size": "50M", "send_as": ["@d{m % a.domains}.example"]}}')
        else:
            w(f'{sep}  {{"name": "u{m}"}}')
    w('\n ],\n "domains": [\n')
    n = 0
    for d in range(a.domains):
        w(",\n" if d else "")
        w(f'  {{"name": "d{d}.example"')
        if d % 10 == 0:
            w(f', "aliases": ["d{d}.example.net"]')
        w(', "addresses": [')
        for i in range(per_domain):
            box = f"u{n % mailboxes}"
            sep = ", " if i else ""
            if n % 50 == 7:
                w(f'{sep}{{"local": "a{i}", "reject": "gone, write to a0@d{d}.example"}}')
            elif n % 10 == 3:
                w(f'{sep}{{"local": "a{i}", "deliver": ["{box}", "fwd{n}@partner.example"]}}')
            else:
                w(f'{sep}{{"local": "a{i}", "deliver": ["{box}"]}}')
            n += 1
        w("]")
        if d % 3 == 0:
            w(f', "catch_all": {{"deliver": ["u{rnd.randrange(mailboxes)}"]}}')
        if d % 100 == 0:
            w(', "max_message_size": "64M"')
        if a.autoconfig:
            w(', "autoconfig": true')
        w("}")
    w('\n ],\n "aliases": [{"name": "postmaster", "deliver": ["root"]}],\n')
    w(' "relay": {"clients": [')
    w(", ".join(f'{{"network": "10.{k // 256}.{k % 256}.0/27"}}' for k in range(100)))
    w(']},\n "access": []\n}\n')


def routed(a):
    per_domain = max(1, a.addresses // a.domains)
    w = sys.stdout.write
    w('{"version": 1,\n "server": {"hostname": "gw.bench.example.net", "names": []},\n')
    w(' "defaults": {"max_message_size": "128M", "virus": "reject", "blocked_types": ["application/x-dosexec"]},\n')
    w(' "domains": [\n')
    for d in range(a.domains):
        w(",\n" if d else "")
        w(f'  {{"name": "d{d}.example"')
        if d % 10 == 0:
            w(f', "aliases": ["d{d}.example.net"]')
        w(', "addresses": [')
        w(", ".join(f'{{"local": "a{i}"}}' for i in range(per_domain)))
        w(f'], "route": {{"host": "hive{d % 50}.provider.example"')
        if d % 10 == 3:
            w(f', "port": 2526, "tls": {{"verify": true, "name": "hive{d % 50}.provider.example"}}')
        w("}")
        if d % 100 == 0:
            w(', "max_message_size": "64M"')
        w("}")
    w('\n ],\n "relay": {"clients": [')
    w(", ".join(f'{{"network": "10.{k // 256}.{k % 256}.0/27"}}' for k in range(100)))
    w(']},\n "access": []\n}\n')


if __name__ == "__main__":
    main()
