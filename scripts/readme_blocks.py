#!/usr/bin/env python3
"""Turns the README's tested sections into one bash script, on stdout.

Tested: every fenced `sh` and `python` block of "## Using it" (with its subsections) and of
"## Testing SCP changes offline", in order, in one bash session (`set -euo pipefail`), so the
exports of one block hold in the next, as for a reader who pastes them one after the other.
A `python` block runs as `python3` reading the block. Markers (HTML comments, invisible when
rendered) on the line before a block:

  <!-- readme-test: same-as PATH -->  the block (JSON) must equal the file PATH
  <!-- readme-test: output -->        the block (JSON) must equal the stdout of the
                                      preceding `sh` block

Usage: readme_blocks.py README.md > session.sh
"""
import json
import re
import sys

SECTIONS = ("## Using it", "## Testing SCP changes offline")


def sections(text):
    """The tested level-2 sections' text."""
    out, keep = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            keep = line.startswith(SECTIONS)
        if keep:
            out.append(line)
    return "".join(out)


def blocks(text):
    """(marker, language, body) for every fenced block."""
    pattern = re.compile(
        r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$",
        re.S | re.M,
    )
    for m in pattern.finditer(text):
        yield (m.group("marker") or "", m.group("lang"), m.group("body"))


def main():
    text = sections(open(sys.argv[1], encoding="utf-8").read())
    if not text:
        sys.exit("readme_blocks: no tested section found")
    # A failing block's output so far is shown (the ERR trap) before the session stops.
    out = [
        "set -euo pipefail",
        'readme_cur=/dev/null',
        "trap 'cat \"$readme_cur\" 2>/dev/null || true' ERR",
    ]
    last_sh = None
    n = 0
    for marker, lang, body in blocks(text):
        n += 1
        if marker.startswith("same-as "):
            path = marker[len("same-as "):]
            json.loads(body)  # the block must be JSON
            out.append(f"echo '--- block {n}: same as {path}'")
            out.append(
                "python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.load(open(sys.argv[2]));"
                " sys.exit(0 if a==b else \"README block differs from \"+sys.argv[2])' "
                + shell_quote(body) + " " + shell_quote(path)
            )
        elif marker == "output":
            if last_sh is None:
                sys.exit(f"readme_blocks: block {n}: an output block must follow an sh block")
            json.loads(body)
            out.append(f"echo '--- block {n}: the output of block {last_sh}'")
            out.append(
                f"python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.load(open(sys.argv[2]));"
                f" sys.exit(0 if a==b else \"README output block differs from what block {last_sh} printed\")' "
                + shell_quote(body) + f' "$readme_out/{last_sh}"'
            )
        elif marker:
            sys.exit(f"readme_blocks: unknown marker {marker!r}")
        elif lang == "sh":
            last_sh = n
            out.append(f"echo '--- block {n} (sh)'")
            # Keep the block's stdout (for an `output` block after it), then show it. The
            # group runs in this shell, so its exports hold for the blocks after it.
            out.append(f'readme_cur="$readme_out/{n}"')
            out.append(f'{{\n{body}}} > "$readme_cur"')
            out.append('cat "$readme_cur"')
        elif lang == "python":
            out.append(f"echo '--- block {n} (python)'")
            out.append("python3 - <<'README_PY'\n" + body + "README_PY")
        # json, text and other blocks are documentation only.
    out.append(f"echo '--- README: {n} blocks ran'")
    print("\n".join(out))


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    main()
