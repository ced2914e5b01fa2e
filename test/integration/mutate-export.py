#!/usr/bin/python3
"""mutate-export - feeds hostmapgen damaged exports and checks what it leaves behind.

mutate-export.py HOSTMAPGEN EXPORT DIR N [SEED [SCHEMA]]: DIR holds the
maps a good run of EXPORT installed.  N times, damages a copy of EXPORT --
a value of the wrong type, an odd or huge string, a huge or negative
number, a key removed or added, an entry doubled, deep nesting, or broken
bytes (flipped, cut, invalid UTF-8, NUL) -- and runs hostmapgen -o DIR
--format json on it.  Every run must end with status 0, 1 or 3 within 60 s;
a run that did not end with 0 must leave every file in DIR byte-identical.
With SCHEMA (hostmapgen's JSON Schema), every export a run accepted must
validate against it, and every structural error a run reported (its JSON
"errors", schema-check.py) the schema must report too.  Damaged exports
that broke a rule are kept in DIR/../mutations-failed.  Prints one summary
line, "runs N status0 A status1 B status3 C crashes D hangs E
schema_refused G schema_missed H changed F", and exits 1 when any rule
was broken.
"""
import copy
import hashlib
import importlib.util
import json
import os
import random
import subprocess
import sys

ODD_STRINGS = ["", " ", "a" * 10000, "x\u0000y", "\u00e4\u00f6\u00fc@\u00df.example", "../../etc/passwd",
               "a\nb", "|/bin/sh -c reboot", "error:5.1.1:\"550 x\"", "%1@%2", "@", "@@", "a@b@c", "-",
               "xn--", "." * 300, "\t", "OK", "RELAY", "192.0.2.0/0", "::/0", "999999999999999999999G",
               "\ud7ff", "'; DROP TABLE", "/dev/null", ":include:/etc/passwd", "a" * 64 + "@example.com"]
ODD_NUMBERS = [0, -1, 1e308, -1e308, 2 ** 63, 2 ** 64, 2 ** 31, 0.5, 1e-300, 10 ** 30]


def nodes(value, path=()):
    """Every (path, value) of the document."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from nodes(v, path + (i,))


def set_at(doc, path, value):
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return doc


def odd_value(rnd):
    kind = rnd.randrange(7)
    if kind == 0:
        return rnd.choice(ODD_STRINGS)
    if kind == 1:
        return rnd.choice(ODD_NUMBERS)
    if kind == 2:
        return rnd.choice([None, True, False])
    if kind == 3:
        return []
    if kind == 4:
        return {}
    if kind == 5:
        return [rnd.choice(ODD_STRINGS)] * rnd.choice([1, 2, 1000])
    return {"unknown_key": rnd.choice(ODD_STRINGS)}


def mutate_json(doc, rnd):
    doc = copy.deepcopy(doc)
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        path, value = rnd.choice(list(nodes(doc)))
        what = rnd.randrange(5)
        if what == 0 or not path:
            doc = set_at(doc, path, odd_value(rnd))
        elif what == 1 and isinstance(value, dict) and value:
            del value[rnd.choice(list(value))]                   # a key missing
        elif what == 2 and isinstance(value, dict):
            value[rnd.choice(["extra", "name", "deliver", "aliases"])] = odd_value(rnd)
        elif what == 3 and isinstance(value, list) and value:
            value.append(copy.deepcopy(rnd.choice(value)))       # an entry twice
        elif isinstance(value, str) and value:
            doc = set_at(doc, path, value.upper() if rnd.random() < 0.5 else value + rnd.choice(ODD_STRINGS)[:50])
        else:
            doc = set_at(doc, path, odd_value(rnd))
    text = json.dumps(doc, ensure_ascii=rnd.random() < 0.5).encode("utf-8", "surrogatepass")
    if rnd.random() < 0.02:
        text = b"[" * 100000 + text + b"]" * 100000               # nesting far past any limit
    return text


def mutate_bytes(data, rnd):
    data = bytearray(data)
    what = rnd.randrange(5)
    if what == 0:
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif what == 1:
        del data[rnd.randrange(len(data)):]
    elif what == 2:
        pos = rnd.randrange(len(data))
        data[pos:pos] = rnd.choice([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\\u0000"])
    elif what == 3:
        a, b = sorted(rnd.randrange(len(data)) for _ in range(2))
        data[a:a] = data[a:b]                                    # a stretch twice
    else:
        return bytes(data) * rnd.randint(2, 3)                  # the document several times over
    return bytes(data)


def snapshot(d):
    out = {}
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def schema_checker(path):
    spec = importlib.util.spec_from_file_location("schema_check", os.path.join(os.path.dirname(__file__),
                                                                              "schema-check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.Checker(path)


def against_schema(module, checker, data, status, out):
    """What the schema says differently from hostmapgen: None, or why."""
    try:
        result = json.loads(out)
    except ValueError:
        return "hostmapgen's --format json output is not JSON"
    if status == 0:
        try:
            places = checker.errors(module.strict_load(data))
        except (ValueError, UnicodeError) as e:
            places = [("", str(e))]
        return f"accepted, but the schema refuses it: {places[0]}" if places else None
    missed = checker.missed(data, result.get("errors", []))
    return f"schema missed {missed[0]['code']} at {missed[0]['path']!r}" if missed else None


def main():
    hostmapgen, export, outdir, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 20261122)
    module, checker = schema_checker(sys.argv[6]) if len(sys.argv) > 6 else (None, None)
    original = open(export, "rb").read()
    doc = json.loads(original)
    failed_dir = os.path.join(os.path.dirname(outdir.rstrip("/")), "mutations-failed")
    counts = {"status0": 0, "status1": 0, "status3": 0, "crashes": 0, "hangs": 0, "schema_refused": 0,
              "schema_missed": 0, "changed": 0}
    damaged = os.path.join(os.path.dirname(outdir.rstrip("/")), "damaged.json")
    for i in range(n):
        data = mutate_json(doc, rnd) if rnd.random() < 0.6 else mutate_bytes(original, rnd)
        with open(damaged, "wb") as f:
            f.write(data)
        before = snapshot(outdir)
        try:
            r = subprocess.run([hostmapgen, "-q", "--format", "json", "-o", outdir, damaged], capture_output=True,
                               timeout=60)
            status = r.returncode
        except subprocess.TimeoutExpired:
            status = None
        broke = None
        if status is None:
            counts["hangs"] += 1
            broke = "hang"
        elif status in (0, 1, 3):
            counts[f"status{status}"] += 1
            if status != 0 and snapshot(outdir) != before:
                counts["changed"] += 1
                broke = "files changed by a failed run"
            elif checker and status in (0, 1):
                broke = against_schema(module, checker, data, status, r.stdout)
                if broke:
                    counts["schema_refused" if status == 0 else "schema_missed"] += 1
        else:
            counts["crashes"] += 1
            broke = f"status {status}: {r.stderr.decode(errors='replace')[-300:]}"
        if broke:
            os.makedirs(failed_dir, exist_ok=True)
            with open(os.path.join(failed_dir, f"{i}.json"), "wb") as f:
                f.write(data)
            print(f"# mutation {i}: {broke}")
    print(f"runs {n} " + " ".join(f"{k} {v}" for k, v in counts.items()))
    sys.exit(1 if counts["crashes"] or counts["hangs"] or counts["changed"] or counts["schema_refused"]
             or counts["schema_missed"] else 0)


if __name__ == "__main__":
    main()
