#!/usr/bin/python3
"""schema-cases - one damaged export for each finding hostmapgen has about exports.

schema-cases.py HOSTMAPGEN SAMPLE SCHEMA REPORT_C: for every case below,
damages a copy of SAMPLE, runs "hostmapgen --check --format json" on it,
and checks that hostmapgen reports the case's code at the case's JSON
Pointer; for a structural error (schema-check.SEMANTIC does not list it)
the JSON Schema must report it too, at that place or one holding it.  Then
every export code of hostmapgen's table (REPORT_C: mapgen/report.c, the
codes before "usage") must have a case here.  Prints one line per check,
"ok<TAB>what" or "not ok<TAB>what", for t-schema.sh to count.
"""
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys


def checker_module():
    spec = importlib.util.spec_from_file_location("schema_check", os.path.join(os.path.dirname(__file__),
                                                                              "schema-check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setting(path, value):
    """A change that sets the value at path (a list of keys and indexes)."""
    def change(doc):
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return change


def adding(path, value):
    def change(doc):
        node = doc
        for p in path:
            node = node[p]
        node.append(copy.deepcopy(value))
    return change


def removing(path):
    def change(doc):
        node = doc
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return change


def chained_aliases(doc):
    doc["aliases"] += [{"name": f"chain{i}", "deliver": [f"chain{i + 1}"]} for i in range(55)]
    doc["aliases"].append({"name": "chain55", "deliver": ["root"]})


def crowded_address(doc):
    doc["mailboxes"] += [{"name": f"m{i}"} for i in range(10001)]
    doc["aliases"].append({"name": "everyone", "deliver": [f"m{i}" for i in range(10001)]})


def many_errors(doc):
    doc["mailboxes"] += [{"name": f"BAD{i}"} for i in range(1100)]


ROUTED = {"name": "hive.example", "addresses": [{"local": "info"}], "route": {"host": "192.0.2.7"}}

# code, JSON Pointer hostmapgen reports it at, the change (a function of the document, or bytes -> bytes).
CASES = [
    ("json_syntax", "", lambda b: b.replace(b'"version": 1,', b'"version": 1', 1)),
    ("invalid_utf8", "/domains/0/addresses/5/reject", lambda b: b.replace(b"moved, write", b"moved,\xff write")),
    ("duplicate_key", "/version", lambda b: b.replace(b'"version": 1,', b'"version": 1, "version": 1,', 1)),
    ("wrong_type", "/server/names", setting(["server", "names"], "mail.example.net")),
    ("unknown_key", "/domains/0/colour", setting(["domains", 0, "colour"], "blue")),
    ("missing_key", "/domains/0", removing(["domains", 0, "name"])),
    ("unsupported_version", "/version", setting(["version"], 2)),
    ("out_of_range", "/mailboxes/1/rate_limit/recipients_per_hour",
     setting(["mailboxes", 1, "rate_limit", "recipients_per_hour"], 10 ** 8)),
    ("too_long", "/domains/1/addresses/0/local", setting(["domains", 1, "addresses", 0, "local"], "a" * 10000)),
    ("empty", "/aliases/0/deliver", setting(["aliases", 0, "deliver"], [])),
    ("invalid_choice", "/domains/1/virus", setting(["domains", 1, "virus"], "explode")),
    ("invalid_domain", "/domains/0/name", setting(["domains", 0, "name"], "-bad.example")),
    ("invalid_hostname", "/server/hostname", setting(["server", "hostname"], "bad_host.example.net")),
    ("hostname_not_qualified", "/server/hostname", setting(["server", "hostname"], "localhost")),
    ("invalid_local_part", "/domains/1/addresses/0/local", setting(["domains", 1, "addresses", 0, "local"], "a..b")),
    ("invalid_mailbox_name", "/mailboxes/3/name", setting(["mailboxes", 3, "name"], "ABC01-Info")),
    ("invalid_alias_name", "/aliases/2/name", setting(["aliases", 2, "name"], ".news")),
    ("invalid_sender_pattern", "/mailboxes/0/send_as/0", setting(["mailboxes", 0, "send_as", 0], "nobody")),
    ("invalid_mime_type", "/defaults/blocked_types/0", setting(["defaults", "blocked_types", 0], "exe")),
    ("invalid_size", "/domains/0/max_message_size", setting(["domains", 0, "max_message_size"], "12X")),
    ("size_out_of_range", "/domains/0/max_message_size", setting(["domains", 0, "max_message_size"], "999G")),
    ("invalid_text", "/domains/0/addresses/5/reject", setting(["domains", 0, "addresses", 5, "reject"], "two\nlines")),
    ("invalid_dn", "/relay/certificates/0/issuer", setting(["relay", "certificates", 0, "issuer"], "C=DE, O=CA")),
    ("invalid_access_key", "/access/0/key", setting(["access", 0, "key"], "Foo:bar")),
    ("invalid_route_host", "/domains/4/route/host", setting(["domains", 4, "route", "host"], "127.0.0.1:2603")),
    ("deliver_or_reject", "/domains/0/addresses/0", setting(["domains", 0, "addresses", 0, "reject"], "gone")),
    ("not_allowed_here", "/domains/3/addresses/0", setting(["domains", 3, "addresses"], [{"local": "x", "deliver": ["root"]}])),
    ("conflicting_keys", "/domains/4/route/tls", setting(["domains", 4, "route", "tls"], {"name": "mx.branch.example"})),
    ("score_out_of_range", "/mailboxes/0/spam/tag_score", setting(["mailboxes", 0, "spam"], {"tag_score": 1e308})),
    ("score_not_positive", "/mailboxes/0/spam/reject_score", setting(["mailboxes", 0, "spam"], {"reject_score": -1000})),
    ("invalid_network", "/relay/clients/0/network", setting(["relay", "clients", 0, "network"], "192.0.2.1/24")),
    ("invalid_access_value", "/access/0/value", setting(["access", 0, "value"], "bananas")),
    ("access_key_cidr", "/access/1/key", adding(["access"], {"key": "Connect:0.0.0.0/0", "value": "RELAY"})),
    ("access_open_relay", "/access/1/key", adding(["access"], {"key": "To:com", "value": "RELAY"})),
    ("duplicate_mailbox", "/mailboxes/5/name", adding(["mailboxes"], {"name": "xyz00-info"})),
    ("duplicate_alias", "/aliases/3/name", adding(["aliases"], {"name": "news", "deliver": ["root"]})),
    ("duplicate_domain", "/domains/5/name", adding(["domains"], {"name": "example.org"})),
    ("duplicate_address", "/domains/1/addresses/2/local", adding(["domains", 1, "addresses"],
                                                                 {"local": "office", "deliver": ["root"]})),
    ("duplicate_network", "/relay/clients/4/network", adding(["relay", "clients"], {"network": "192.0.2.10"})),
    ("duplicate_access_key", "/access/1/key", adding(["access"], {"key": "from:spammer@bad.example", "value": "OK"})),
    ("alias_domain_is_domain", "/domains/0/aliases/1", adding(["domains", 0, "aliases"], "example.org")),
    ("relayed_server_name", "/domains/5/backup_mx", adding(["domains"], {"name": "mail.example.net", "backup_mx": True})),
    ("unknown_target", "/domains/0/addresses/0/deliver/0", setting(["domains", 0, "addresses", 0, "deliver"], ["nobody-known"])),
    ("invalid_target", "/domains/0/addresses/0/deliver/0", setting(["domains", 0, "addresses", 0, "deliver"], ["x@-bad.example"])),
    ("no_such_address", "/domains/0/addresses/0/deliver/0", setting(["domains", 0, "addresses", 0, "deliver"], ["nosuch@example.org"])),
    ("target_not_listed", "/domains/0/addresses/0/deliver/0", setting(["domains", 0, "addresses", 0, "deliver"], ["nosuch@branch.example"])),
    ("special_target", "/domains/0/addresses/0/deliver/0", setting(["domains", 0, "addresses", 0, "deliver"], ["|/bin/true"])),
    ("delivery_loop", "/aliases/3/deliver", lambda d: d["aliases"].extend([{"name": "ping", "deliver": ["pong"]},
                                                                            {"name": "pong", "deliver": ["ping"]}])),
    ("chain_too_deep", "/aliases/3/deliver", chained_aliases),
    ("too_many_mailboxes", "/domains/0/addresses/0/deliver", lambda d: (crowded_address(d), setting(
        ["domains", 0, "addresses", 0, "deliver"], ["everyone"])(d))),
    ("access_key_generated", "/access/1/key", adding(["access"], {"key": "To:backup.example", "value": "REJECT"})),
    ("too_many_errors", "", many_errors),
    ("autoconfig_relayed", "/domains/3/autoconfig", setting(["domains", 3, "autoconfig"], True)),
    ("autoconfig_without_servers", "/domains/0/autoconfig", removing(["defaults", "client_settings"])),
    ("too_many_blocked_types", "/mailboxes/0", lambda d: (
        setting(["domains", 0, "blocked_types"], [f"application/x-a{i}" for i in range(16)])(d),
        adding(["domains"], {"name": "third.example", "addresses": [{"local": "x", "deliver": ["xyz00-info"]}],
                             "blocked_types": [f"application/x-b{i}" for i in range(16)]})(d))),
    # warnings
    ("alias_shadows_mailbox", "/aliases/1/name", lambda d: None),
    ("routed_unlisted", "/domains/5", adding(["domains"], {"name": "hive.example", "route": {"host": "192.0.2.7"}})),
    ("held_without_etrn", "/domains/5/route", adding(["domains"], dict(ROUTED, route={"host": "192.0.2.7", "hold": True}))),
    ("reject_below_tag", "/domains/1/spam", setting(["domains", 1, "spam"], {"reject_score": 3})),
    ("discard_below_reject", "/domains/1/spam", setting(["domains", 1, "spam"], {"reject_score": 10, "discard_score": 8})),
    ("blocked_type_unknown", "/mailboxes/1/blocked_types/0", setting(["mailboxes", 1, "blocked_types"], ["foo/bar"])),
    ("send_as_foreign_domain", "/mailboxes/0/send_as/2", adding(["mailboxes", 0, "send_as"], "@paypal.example")),
    ("network_overlap", "/relay/clients/4/network", adding(["relay", "clients"], {"network": "192.109.42.0/28",
                                                                                  "rate_limit": {"burst": 5}})),
    ("access_relay_from", "/access/1/key", adding(["access"], {"key": "From:boss@partner.example", "value": "RELAY"})),
]


def export_codes(report_c):
    """The codes of mapgen/report.c's table before "usage": those about exports."""
    with open(report_c, encoding="utf-8") as f:
        names = re.findall(r'\[RC_[A-Z0-9_]+\] = \{ "([a-z0-9_]+)"', f.read())
    return names[:names.index("usage")]


def run(hostmapgen, data, path):
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run([hostmapgen, "--check", "--format", "json", path], capture_output=True, timeout=120)
    return json.loads(r.stdout)


def main():
    hostmapgen, sample, schema, report_c = sys.argv[1:5]
    sc = checker_module()
    checker = sc.Checker(schema)
    original = open(sample, "rb").read()
    damaged = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"schema-case.{os.getpid()}.json")
    seen = set()
    for code, where, change in CASES:
        seen.add(code)
        if isinstance(change, type(lambda: 0)) and change.__code__.co_varnames[:1] == ("b",):
            data = change(original)
        else:
            doc = json.loads(original)
            change(doc)
            data = json.dumps(doc, indent=1).encode()
        result = run(hostmapgen, data, damaged)
        found = [e for e in result["errors"] + result["warnings"] if e["code"] == code]
        at = [e for e in found if e["path"] == where]
        print(f"{'ok' if at else 'not ok'}\thostmapgen reports {code} at {where or '(top level)'!r}"
              + ("" if at else f" (it said: {[(e['code'], e['path']) for e in result['errors'] + result['warnings']][:6]})"))
        if code in sc.SEMANTIC or not any(e["code"] == code for e in result["errors"]):
            continue                    # semantic errors and warnings: no schema says them
        missed = checker.missed(data, at)
        print(f"{'not ok' if missed else 'ok'}\tthe schema reports {code} too")
    os.unlink(damaged)
    for code in export_codes(report_c):
        print(f"{'ok' if code in seen else 'not ok'}\tcode {code} has a case here")


if __name__ == "__main__":
    main()
