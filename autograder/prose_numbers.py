"""Numbers a student wrote as an answer in prose, found the way a person finds them.

"64 inputs, one for each of the 8x8 pixels" answers 64, not 8; so do "**64**
(8 x 8)", "= 8\\*8 = 64" and "$8 \\times 8 = 64$". Each number written is a
``Written`` with a rank: emphasised (1), stated as the answer (2: after "=",
after "answer", alone on its line), in a sentence (3), in parentheses (4).
Numbers that only explain the answer are not candidates at all: those in a
dimension (``8x8``, ``28×28``), an arithmetic expression (``8*8``), a range
(``0-16``, "from 0 to 16"), a list (``5, 20, 40``), after "not", or naming a
problem, figure, layer or cell ("Problem 1", "layer 2").

``read`` then picks the answer among them, against the expected value, and says
why; the choice and its reason are what the feedback shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

EMPHASISED, STATED, IN_SENTENCE, IN_PARENTHESES = 1, 2, 3, 4
WHY = {EMPHASISED: "emphasised", STATED: "stated as the answer", IN_SENTENCE: "in a sentence",
       IN_PARENTHESES: "in parentheses"}


@dataclass(frozen=True)
class Written:
    value: float
    rank: int
    why: str  # "after '='", "in bold", "alone on its line", "in a sentence"
    line: str

    def as_dict(self) -> dict:
        return {"value": self.value, "rank": self.rank, "why": self.why, "line": self.line}


_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TIMES = re.compile(r"\\times|\\cdot|×|·|⋅|✕")
_BOLD_COMMANDS = re.compile(r"\\(?:mathbf|textbf|boxed|bm|mathbb)\{([^{}]*)\}")
_BOLD_TAGS = re.compile(r"<(b|strong|mark)\b[^>]*>(.*?)</\1>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_LABEL = re.compile(r"(?:problem|part|question|exercise|task|figure|fig\.?|cell|section|equation|eq\.?|step|epoch|"
                    r"layer|line|chapter|lecture|page|table|digit|class|version|python|sheet|hw|homework|"
                    r"assignment|no\.)\s*#?\s*$", re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bnot|\bisn'?t|\binstead of|\brather than|\bnor)\s*(?:\*\*|__)?\s*$", re.IGNORECASE)
_ANSWER_WORD = re.compile(r"(?:answer|ans|result|solution)\s*(?:is|:|=|->|→)?\s*(?:\*\*|__)?\s*$", re.IGNORECASE)


def _clean(line: str) -> str:
    text = _TIMES.sub(" x ", line.replace("\\*", "*").replace("\\_", "_"))
    text = _BOLD_COMMANDS.sub(r"**\1**", text)
    text = _BOLD_TAGS.sub(r"**\2**", text)
    text = _TAG.sub(" ", text).replace("$", " ").replace("\\", " ")
    return text


def _spans(text: str, pattern: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def _inside(position: int, spans) -> bool:
    return any(start < position < end for start, end in spans)


def _excluded(text: str, start: int, end: int, numbers: list[tuple[int, int]]) -> str | None:
    """Why the number at ``text[start:end]`` explains rather than answers (None when it may be an answer)."""
    before, after = text[:start], text[end:]
    if re.search(r"\d\s*\**\s*[x*]\s*\**\s*$", before) or re.match(r"\s*\**\s*[x*]\s*\**\s*\d", after):
        return "part of a dimension or product"
    if re.search(r"\d\s*[+/^]\s*$", before) or re.match(r"\s*[+/^]\s*\d", after):
        return "part of an expression"
    if re.search(r"\d\s*(?:-|–|—|\.\.)\s*$", before) or re.match(r"\s*(?:-|–|—|\.\.)\s*-?\d", after):
        return "part of a range or expression"
    if re.search(r"\b(?:from|between)\s*$", before, re.IGNORECASE) and \
            re.match(r"\s*(?:to|and)\s+-?\d", after, re.IGNORECASE):
        return "part of a range"
    if re.search(r"\b(?:from|between)\s+-?[\d.]+\s*(?:to|and)\s*$", before, re.IGNORECASE):
        return "part of a range"
    index = numbers.index((start, end))
    neighbours = 0
    for step in (-1, 1):
        j = index
        while 0 <= j + step < len(numbers):
            a, b = sorted((numbers[j], numbers[j + step]))
            if not re.fullmatch(r"\s*(?:,\s*(?:and\s+|or\s+)?|or|and|/|,)\s*", text[a[1]:b[0]]):
                break
            neighbours += 1
            j += step
    if neighbours >= 2:
        return "part of a list"
    if _LABEL.search(before):
        return "a label"
    if _NEGATED.search(before):
        return "negated"
    return None


def numbers_in_line(line: str) -> list[Written]:
    """The candidate answers of one line of markdown, with their rank."""
    text = _clean(line)
    shown = line.strip()[:200]
    emphasis = _spans(text, r"\*\*.+?\*\*|__.+?__")
    parentheses = _spans(text, r"\([^()]*\)|\[[^\[\]]*\]")
    found = [(m.start(), m.end()) for m in _NUMBER.finditer(text)]
    bare = re.fullmatch(r"[\s*_>#:.\-]*-?[\d.,eE+\-]+[\s*_.!]*", text) is not None
    written = []
    for start, end in found:
        if _excluded(text, start, end, found):
            continue
        value = float(text[start:end].replace(",", ""))
        before = text[:start]
        if _inside(start, emphasis):
            written.append(Written(value, EMPHASISED, "emphasised", shown))
        elif re.search(r"(?:=|≈|:=|->|→)\s*(?:\*\*|__)?\s*$", before) and not re.match(r"\s*=", text[end:]):
            written.append(Written(value, STATED, "after '='", shown))
        elif _ANSWER_WORD.search(before):
            written.append(Written(value, STATED, "after 'answer'", shown))
        elif bare:
            written.append(Written(value, STATED, "alone on its line", shown))
        elif _inside(start, parentheses):
            written.append(Written(value, IN_PARENTHESES, "in parentheses", shown))
        else:
            written.append(Written(value, IN_SENTENCE, "in a sentence", shown))
    return written


def numbers_written(lines: Iterable[str]) -> list[Written]:
    return [number for line in lines for number in numbers_in_line(line)]


def read(written: list[Written], matches: Callable[[float], bool]) -> tuple[Written | None, bool]:
    """The answer read from ``written``, and whether it is the expected one (``matches``).

    Emphasised numbers are the answer when there are any; else numbers stated as the answer and numbers in
    sentences count alike, so that a sentence stating the right value is never marked wrong; numbers in
    parentheses only when there is nothing else. Without the expected value among them, the number read is
    the last one stated as the answer (else the last one written)."""
    if not written:
        return None, False
    best = min(w.rank for w in written)
    if best == EMPHASISED:
        counted = [w for w in written if w.rank == EMPHASISED]
    elif best < IN_PARENTHESES:
        counted = [w for w in written if w.rank < IN_PARENTHESES]
    else:
        counted = written
    right = [w for w in counted if matches(w.value)]
    if right:
        return right[-1], True
    stated = [w for w in counted if w.rank == STATED]
    return (stated or counted)[-1], False
