#!/usr/bin/env python3
"""readme-recipe: the admin's steps of debian/README.Debian, for t-debian-recipe.

  readme-recipe.py steps README               the steps as JSON, in order
  readme-recipe.py insert FILE ANCHOR LINES   LINES' lines into FILE, above its line ANCHOR
  readme-recipe.py replace FILE OLD NEW       OLD's lines (consecutive, exact) in FILE by NEW's

The recipe is the section "Recipe: ..." of README.Debian.  A block is a run
of lines indented by eight spaces or more; the paragraph of prose before it
says what it is, by how it ends:

  ... run as root:                                     shell commands
  ... add these lines to FILE, just above its line X:  lines for FILE
  ... in FILE, replace these lines: (block)
  ... with these: (block)                              a replacement in FILE

("this line" and "this" do for a single line.)  Any other block in the
recipe is an error: a command the admin is told to run must be one the test
runs.  The edits keep the file's inode, owner and mode, as an editor would,
and fail when their anchor is missing (so a file Debian changed is noticed,
not silently left alone).
"""
import json
import re
import sys

HEADING = "Recipe: from apt install to mail flowing"
BLOCK_INDENT = 8


def recipe_lines(text):
    """(line number, line) of the recipe section, up to the next underlined heading."""
    lines = text.split("\n")
    try:
        start = lines.index(HEADING)
    except ValueError:
        sys.exit(f"readme-recipe: no section {HEADING!r}")
    out = []
    for i in range(start + 2, len(lines)):
        if i + 1 < len(lines) and lines[i] and re.fullmatch(r"-{3,}", lines[i + 1]):
            break
        out.append((i + 1, lines[i]))
    return out


def blocks(numbered):
    """(first line number, the paragraph before it in one line, its lines dedented) for each block."""
    paragraph, ended, current, start, result = [], False, [], 0, []
    for number, line in numbered + [(0, "")]:
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and indent >= BLOCK_INDENT:
            if not current:
                start = number
            current.append(line)
            continue
        if current:
            cut = min(len(l) - len(l.lstrip(" ")) for l in current)
            result.append((start, " ".join(paragraph), [l[cut:] for l in current]))
            current, paragraph, ended = [], [], False
        if not line.strip():
            ended = bool(paragraph)
        else:
            if ended:
                paragraph, ended = [], False
            paragraph.append(line.strip())
    return result


INSERT = re.compile(r"add these lines to (/\S+), just above its line (\S+):$", re.I)
REPLACE = re.compile(r"in (/\S+?),? replace (?:these lines|this line):$", re.I)
WITH = re.compile(r"with (?:these|this):$", re.I)


def steps(path):
    found, pending = [], None
    for number, prose, lines in blocks(recipe_lines(open(path).read())):
        prose = prose.strip()
        if prose.lower().endswith("run as root:"):
            found.append({"kind": "shell", "line": number, "text": "\n".join(lines) + "\n"})
        elif INSERT.search(prose):
            m = INSERT.search(prose)
            found.append({"kind": "insert", "line": number, "file": m.group(1), "anchor": m.group(2),
                          "lines": lines})
        elif REPLACE.search(prose):
            pending = (REPLACE.search(prose).group(1), lines)
        elif WITH.search(prose) and pending is not None:
            found.append({"kind": "replace", "line": number, "file": pending[0], "old": pending[1], "new": lines})
            pending = None
        else:
            sys.exit(f"readme-recipe: {path}:{number}: a block after {prose[-80:]!r}, which says neither "
                     "'run as root:', 'add these lines to FILE, just above its line X:' nor "
                     "'in FILE, replace these lines:'")
    if pending is not None:
        sys.exit(f"readme-recipe: {path}: 'replace these lines:' without 'with these:'")
    print(json.dumps(found, indent=1))


def rewrite(path, lines):
    with open(path, "r+") as f:
        f.seek(0)
        f.write("\n".join(lines) + "\n")
        f.truncate()


def insert(path, anchor, new_path):
    lines = open(path).read().rstrip("\n").split("\n")
    new = open(new_path).read().rstrip("\n").split("\n")
    try:
        at = [l.strip() for l in lines].index(anchor)
    except ValueError:
        sys.exit(f"readme-recipe: {path} has no line {anchor}")
    rewrite(path, lines[:at] + new + lines[at:])


def replace(path, old_path, new_path):
    lines = open(path).read().rstrip("\n").split("\n")
    old = open(old_path).read().rstrip("\n").split("\n")
    new = open(new_path).read().rstrip("\n").split("\n")
    for at in range(len(lines) - len(old) + 1):
        if lines[at:at + len(old)] == old:
            rewrite(path, lines[:at] + new + lines[at + len(old):])
            return
    sys.exit(f"readme-recipe: {path} does not have these lines, one after the other:\n" + "\n".join(old))


if __name__ == "__main__":
    commands = {"steps": (steps, 1), "insert": (insert, 3), "replace": (replace, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) != 2 + commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    commands[sys.argv[1]][0](*sys.argv[2:])
