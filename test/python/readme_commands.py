"""What README.md shows a user: its fenced blocks, its inline code spans, and the command lines
of our programs in both, cut into words (test_readme.py checks them). Pure text handling."""

import re

PROGRAMS = ("sg-train", "sg-resume", "sg-eval", "sg-ckpt-inspect", "sg-ckpt-adapt", "sg-model-template")

_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
# `key=value`, `+key=value`, `++key=value` and `~key`: the override words of sg-train, sg-resume, sg-eval.
OVERRIDE = re.compile(r"^(\+\+|\+|~)?[A-Za-z_][A-Za-z0-9_.]*(=|$)")


class Block:
    def __init__(self, tag, first_line, lines):
        self.tag = tag                  # the fence's info string: "sh", "text", "" ...
        self.first_line = first_line    # README line number of the block's first line
        self.lines = lines              # the block's lines, without the fences' indentation


def parse(text):
    """(blocks, prose): the fenced blocks, and the text outside them with every fenced line
    blanked, so that offsets in it still give README line numbers."""
    blocks, prose, current, indent = [], [], None, ""
    for number, line in enumerate(text.split("\n"), 1):
        m = _FENCE.match(line)
        if current is None and m:
            current, indent = Block(m.group(2), number + 1, []), m.group(1)
            prose.append("")
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
            prose.append("")
        elif current is not None:
            current.lines.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            prose.append("")
        else:
            prose.append(line)
    if current is not None:
        raise ValueError("line %d: a fenced block is never closed" % (current.first_line - 1))
    return blocks, "\n".join(prose)


def code_spans(prose):
    """(line number, text) of every inline `code span`; a span may continue on the next line.
    HTML comments are not shown to the reader and hold none."""
    prose = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), prose, flags=re.S)
    for m in re.finditer(r"`([^`]+)`", prose):
        yield prose.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split())


def logical_lines(block):
    """(README line number, text) of a block's lines, a line ending in `\\` joined with the next."""
    out, pending, start = [], "", None
    for i, line in enumerate(block.lines):
        if start is None:
            start = block.first_line + i
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((start, pending + line))
        pending, start = "", None
    if start is not None:
        out.append((start, pending))
    return out


def words(text):
    """Splits a command line at blanks, except inside quotes, a value's brackets
    (`key={a: 1, b: 2}`) and a <placeholder with blanks>. A `[` or `(` opening a word and a `]`
    or `)` closing one at bracket depth 0 are a synopsis's optional groups (or the end of a
    `$(...)`): they are dropped, and a dropped `)` ends the command (a ")" word stays)."""
    out, word, depth, quote, i = [], "", 0, None, 0
    while i < len(text):
        c = text[i]
        if quote:
            word += c
            if c == quote:
                quote = None
        elif c in "'\"" and (word == "" or word.endswith("=")):
            quote = c
            word += c
        elif c == "<" and word == "":
            end = text.find(">", i)
            end = len(text) - 1 if end < 0 else end
            word, i = text[i:end + 1], end
        elif c in "[{" and word.endswith("=") or (depth and c in "[{"):
            depth += 1
            word += c
        elif depth and c in "]}":
            depth -= 1
            word += c
        elif c.isspace() and not depth:
            if word:
                out.append(word)
            word = ""
        elif c in "[(" and word == "":
            pass
        elif c == "]" and not depth:
            pass
        elif c == ")" and not depth:
            if word:
                out.append(word)
            out.append(")")
            word = ""
        else:
            word += c
        i += 1
    if word:
        out.append(word)
    return out


class Command:
    def __init__(self, program, args):
        self.program = program   # one of PROGRAMS
        self.args = args         # the words after it, up to the end of the command

    def flags(self):
        """The -x / --long options it uses (`--hash/--stats` is two; `--a=b` is --a)."""
        out = []
        for w in self.args:
            for part in w.split("/") if w.startswith("--") else [w]:
                if re.match(r"^--?[A-Za-z]", part):
                    out.append(part.split("=", 1)[0])
        return out

    def overrides(self):
        return [w for w in self.args if OVERRIDE.match(w) and ("=" in w or w.startswith("~"))]

    def option(self, name):
        """The word after option `name`, or None."""
        for i, w in enumerate(self.args[:-1]):
            if w == name:
                return self.args[i + 1]
        return None


_END = {";", "&&", "||", ")", "&", "|"}
_LAUNCHERS = ("torchrun",)


def _ends(ws, i):
    """Whether word i ends a command. A `|` followed by an option is a synopsis's
    alternative (`--like T | --model A`), not a pipe."""
    a = ws[i]
    if a == "|":
        return not (i + 1 < len(ws) and ws[i + 1].startswith("-"))
    redirection = re.match(r"^\d*>", a) or (a.startswith("<") and not a.endswith(">"))
    return a.startswith("#") or a in _END or bool(redirection)


def commands(text):
    """The commands of our programs in a line: a program word that starts the line or follows
    `;`, `&&`, `|`, `$(`, `VAR=x` assignments or a launcher (torchrun and its options); its
    words run up to a comment, a redirection or the end of its command."""
    ws = words(text)
    found, i, expecting, launcher = [], 0, True, False
    while i < len(ws):
        w = ws[i]
        if "$(" in w:
            w, expecting = w.split("$(", 1)[1], True
        if expecting and w in PROGRAMS:
            args, i = [], i + 1
            while i < len(ws) and not _ends(ws, i):
                args.append(ws[i])
                i += 1
            found.append(Command(w, args))
            expecting, launcher = False, False
            continue
        if w.startswith("#"):
            break
        if _ends(ws, i):
            expecting, launcher = True, False
        elif w in _LAUNCHERS and expecting:
            launcher = True
        elif not launcher and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):
            expecting = False
        i += 1
    return found
