"""The runnable Python blocks of a Markdown page: what tests/test_docs.py runs and what the
pictures extension runs while the site is built (one rule for both)."""
import re

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
RUNNABLE = {"python", "py", "python3"}


def python_blocks(text):
    """``[(first code line number, code)]`` of the runnable Python blocks of a Markdown text.

    A block runs when its info string starts with ``python`` (or ``py``) and does not contain
    ``no-run``, and the last non-blank line before its fence is not ``<!-- no-run -->``.
    """
    blocks, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        words = match["info"].strip().split()
        j = i + 1
        body = []
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        runnable = (bool(words) and words[0].lower() in RUNNABLE and "no-run" not in words[1:]
                    and previous != "<!-- no-run -->")
        if runnable:
            blocks.append((i + 2, "\n".join(body)))
        i = j + 1
    return blocks
