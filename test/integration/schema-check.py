#!/usr/bin/python3
"""schema-check - hostmapgen's export schema, held against what hostmapgen says.

As a program:
  schema-check.py validate SCHEMA FILE...   every FILE is a valid export; prints the invalid
                                            ones with the schema's errors, exits 1 if any
  schema-check.py check SCHEMA              SCHEMA is a valid JSON Schema, draft 2020-12
As a module (mutate-export.py, schema-cases.py): strict_load, Checker.

The validator is python3-jsonschema (Draft202012Validator), a real one.
hostmapgen reads JSON as jansson does, which refuses what many parsers let
through: duplicate keys, invalid UTF-8, lone surrogates, integers beyond
64 bits, numbers beyond a double.  strict_load refuses the same, so that
"the schema's validator reports it" includes "its parser refuses it".
"""
import json
import sys

import jsonschema

# Codes of checks a schema cannot make: cross-references, duplicates,
# loops, and values whose shape is fine but whose meaning is not
# (hostmapgen(8), ERRORS AND WARNINGS).  Every other error code is about
# shape, and the schema must report it too.
SEMANTIC = {
    "duplicate_mailbox", "duplicate_alias", "duplicate_domain", "duplicate_address", "duplicate_network",
    "duplicate_access_key", "alias_domain_is_domain", "relayed_server_name", "unknown_target", "invalid_target",
    "no_such_address", "target_not_listed", "special_target", "delivery_loop", "chain_too_deep",
    "too_many_mailboxes", "access_key_generated", "autoconfig_relayed", "autoconfig_without_servers", "too_many_blocked_types", "invalid_network", "size_out_of_range", "invalid_access_value",
    "access_key_cidr", "access_open_relay", "too_many_errors", "autoconfig_relayed", "autoconfig_without_servers", "too_many_blocked_types",
    # failures of the run, not of the export
    "usage", "export_unreadable", "export_too_large", "lock_failed", "unsafe_file", "broken_map", "install_failed",
    "partly_installed", "reload_failed", "policy_unreadable",
}
# Codes that say the document cannot be read as JSON at all.
UNREADABLE = {"json_syntax", "duplicate_key", "invalid_utf8"}
INT64 = (-(2 ** 63), 2 ** 63 - 1)


class Refused(ValueError):
    pass


def _pairs(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise Refused(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def _int(text):
    n = int(text)
    if not INT64[0] <= n <= INT64[1]:
        raise Refused(f"integer {text[:40]} beyond 64 bits")
    return n


def _float(text):
    x = float(text)
    if x in (float("inf"), float("-inf")):
        raise Refused(f"number {text[:40]} beyond a double")
    return x


def _constant(name):
    raise Refused(f"{name} is not JSON")


def _check_strings(value):
    if isinstance(value, str):
        value.encode("utf-8")          # lone surrogates raise
    elif isinstance(value, dict):
        for k, v in value.items():
            k.encode("utf-8")
            _check_strings(v)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v)


def strict_load(data):
    """The document as jansson reads it, or raises ValueError (Refused, UnicodeError, JSONDecodeError)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise Refused("nested deeper than a parser follows") from None
    _check_strings(doc)
    return doc


def pointer(path):
    """A JSON Pointer from jsonschema's path (a deque of keys and indexes)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class Checker:
    def __init__(self, schema_path):
        with open(schema_path, encoding="utf-8") as f:
            self.schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(self.schema)
        self.validator = jsonschema.Draft202012Validator(self.schema)

    def errors(self, doc):
        """Every place the schema reports, nested ones (oneOf, anyOf) included, as JSON Pointers."""
        out = []
        stack = list(self.validator.iter_errors(doc))
        while stack:
            e = stack.pop()
            out.append((pointer(e.absolute_path), e.message))
            stack.extend(e.context or [])
        return out

    def covers(self, places, path):
        """Does the schema report at path, or at an object holding it, or inside it?"""
        for where, _ in places:
            if path == where or path.startswith(where + "/") or where.startswith(path + "/"):
                return True
        return False

    def missed(self, data, errors):
        """The structural errors hostmapgen reported (its JSON "errors") that the schema does not."""
        try:
            doc = strict_load(data)
        except (ValueError, UnicodeError):
            return []                   # the schema's side cannot even read it
        places = self.errors(doc)
        missed = []
        for e in errors:
            code, path = e["code"], e["path"]
            if code in SEMANTIC:
                continue
            if code in UNREADABLE:
                if not places:
                    missed.append(e)
            elif not self.covers(places, path):
                missed.append(e)
        return missed


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        Checker(sys.argv[2])
        print("schema-check: a valid JSON Schema (draft 2020-12)")
        return 0
    if len(sys.argv) < 3 or sys.argv[1] != "validate":
        print(__doc__, file=sys.stderr)
        return 2
    checker = Checker(sys.argv[2])
    bad = 0
    for name in sys.argv[3:]:
        with open(name, "rb") as f:
            data = f.read()
        try:
            places = checker.errors(strict_load(data))
        except (ValueError, UnicodeError) as e:
            places = [("", f"not JSON as hostmapgen reads it: {e}")]
        if places:
            bad += 1
            print(f"{name}: " + "; ".join(f"{p or '(top level)'}: {m[:200]}" for p, m in places[:5]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
