#!/usr/bin/python3
"""synopsis-check - every SYNOPSIS says exactly the options the program's parser takes.

synopsis-check.py SRC BUILD: for hostmapgen, hostmilter and hostscan, the
options of the parser in the source (the getopt string and the long option
table) against those of the man page's SYNOPSIS, of the program's own usage
text (--help, or the usage a bad option prints), and of the README's
synopsis lines (code lines starting with the program's name, and their
continuation lines).  Prints "ok<TAB>what" or "not ok<TAB>what" per
comparison, with the difference.
"""
import os
import re
import subprocess
import sys

PROGRAMS = [
    ("hostmapgen", "mapgen/hostmapgen.c", "man/hostmapgen.8", "mapgen/hostmapgen", ["--help"]),
    ("hostmilter", "milter/hostmilter.c", "man/hostmilter.8", "milter/hostmilter", ["--help"]),
    ("hostscan", "scan/hostscan.c", "man/hostscan.1", "scan/hostscan", ["--help"]),
]
OPTION = re.compile(r"(?<![\w\-/.])(--?[A-Za-z][A-Za-z0-9\-]*)")


def from_source(path):
    text = open(path, encoding="utf-8").read()
    short = re.search(r'getopt(?:_long)?\(argc, argv, "([^"]*)"', text).group(1)
    options = {"-" + c for c in short if c.isalnum()}
    for table in re.findall(r"struct option \w+\[\] = \{(.*?)\};", text, re.S):
        options |= {"--" + name for name in re.findall(r'\{\s*"([a-z][a-z0-9-]*)",', table)}
    return options


def from_man(path):
    text = open(path, encoding="utf-8").read()
    synopsis = text.split(".SH SYNOPSIS", 1)[1].split("\n.SH ", 1)[0]
    synopsis = synopsis.replace("\\-", "-")
    synopsis = re.sub(r"\\f[BIRP]", " ", synopsis)
    return set(OPTION.findall(synopsis))


def from_usage(binary, args):
    r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    usage = out[out.find("usage:"):] if "usage:" in out else ""
    return set(OPTION.findall(usage))


def from_readme(path, program):
    options, inside = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("    " + program + " "):
            inside = True
        elif not (inside and line.startswith("        ")):
            inside = False
        if inside:
            options |= set(OPTION.findall(line.split("#", 1)[0]))
    return options


def compare(what, got, want):
    if got == want:
        print(f"ok\t{what} lists exactly the parser's options")
    else:
        print(f"not ok\t{what} lists exactly the parser's options "
              f"(missing {sorted(want - got)}, extra {sorted(got - want)})")


def main():
    src, build = sys.argv[1], sys.argv[2]
    for program, source, man, binary, help_args in PROGRAMS:
        parser = from_source(os.path.join(src, source))
        compare(f"{program}: the SYNOPSIS of {os.path.basename(man)}", from_man(os.path.join(src, man)), parser)
        compare(f"{program}: its usage text", from_usage(os.path.join(build, binary), help_args), parser)
        compare(f"{program}: the README's synopsis", from_readme(os.path.join(src, "README.md"), program), parser)


if __name__ == "__main__":
    main()
