"""Rewritten copies of the bundled notebook submissions, written as submission folders to grade.

    python -m tests.metamorphic.generate --family ece4803-hw6 --out DIR            # the composition of all
    python -m tests.metamorphic.generate --family ece4803-hw6 --out DIR --all      # ... and each rewrite alone
    python -m tests.metamorphic.generate --out DIR --sample                        # ... and three drawn per example

Each folder is a copy of the example's folder (its .py files and weights too) with the notebook replaced, named
``<family>--<example>--<label>``; the label is the rewrite's name, or ``all`` for the composition of every
rewrite (``rewrites.ORDER``). A rewrite that does not apply to a notebook writes nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.examples import Family, families

from .rewrites import ORDER, REWRITES, Handout, compose, handout_of

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
ALL = "all"


@dataclass(frozen=True)
class Example:
    """A bundled example whose submission is a notebook (one that is valid JSON: a notebook cut short by an
    upload is not rewritten)."""

    family: Family
    name: str
    notebook: Path

    @property
    def fails(self) -> dict:
        return self.family.examples[self.name]["fails"]

    @property
    def label(self) -> str:
        return f"{self.family.folder.name}/{self.name}"

    def read(self) -> dict:
        return json.loads(self.notebook.read_text(encoding="utf-8"))


def notebook_examples(root: Path = SUBMISSIONS, family: str | None = None) -> list[Example]:
    found = []
    for fam in families(root):
        if family is not None and fam.folder.name != family:
            continue
        for name in fam.examples:
            notebooks = sorted((fam.folder / name).glob("*.ipynb"))
            if notebooks and _is_notebook(notebooks[0]):
                found.append(Example(fam, name, notebooks[0]))
    return found


def _is_notebook(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("cells"), list)


def example(family: str, name: str, root: Path = SUBMISSIONS) -> Example:
    for candidate in notebook_examples(root, family):
        if candidate.name == name:
            return candidate
    raise LookupError(f"no notebook example {family}/{name} under {root}")


def quoted_names(fails: dict) -> set[str]:
    """Identifiers the expected feedback quotes (``name 'net' is not defined``): kept as they are, so that the
    expected words still match."""
    return {name for words in fails.values() for name in re.findall(r"'([A-Za-z_]\w*)'", words)}


@functools.cache
def _handout(assignment: str, keep: frozenset[str]) -> Handout:
    from autograder.grading.registry import load_assignment

    return handout_of(load_assignment(assignment), keep)


def handout_for(chosen: Example) -> Handout:
    return _handout(chosen.family.assignment, frozenset(quoted_names(chosen.fails)))


def seeded(seed: int, chosen: Example, label: str) -> random.Random:
    return random.Random(f"{seed}/{chosen.label}/{label}")


def label_of(rewrites: str | Sequence[str]) -> str:
    if isinstance(rewrites, str):
        return rewrites
    return ALL if list(rewrites) == ORDER else "+".join(rewrites)


def rewrite_example(chosen: Example, rewrites: str | Sequence[str], seed: int = 0) -> dict | None:
    """The example's notebook under one rewrite (a name) or a composition (names, in order; ``ALL``: every
    rewrite); None when nothing applies."""
    names = ORDER if rewrites == ALL else rewrites
    notebook, handout, rng = chosen.read(), handout_for(chosen), seeded(seed, chosen, label_of(rewrites))
    if isinstance(names, str):
        return REWRITES[names](notebook, handout, rng)
    new, applied = compose(notebook, handout, rng, names)
    return new if applied else None


def write_submission(chosen: Example, notebook: dict, folder: Path) -> Path:
    """A copy of the example's folder with ``notebook`` in place of its notebook."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(chosen.notebook.parent.resolve(), folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    target = folder / chosen.notebook.name
    target.unlink()
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def rewritten(family: str, name: str, rewrites: Iterable[str | Sequence[str]], out: Path | None = None,
              seed: int = 0, root: Path = SUBMISSIONS) -> list[tuple[str, Path]]:
    """(label, folder) of the example ``family/name`` under each of ``rewrites`` (a rewrite's name, ``ALL``, or a
    sequence of names composed in order), written under ``out`` (default: a new temporary folder); those that do
    not apply are left out."""
    chosen = example(family, name, root)
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="metamorphic-"))
    written = []
    for rewrites_ in rewrites:
        notebook = rewrite_example(chosen, rewrites_, seed)
        if notebook is not None:
            label = label_of(rewrites_)
            written.append((label, write_submission(chosen, notebook, out / f"{family}--{name}--{label}")))
    return written


def plan(chosen: Example, mode: str, seed: int) -> list[str]:
    """The labels to write for an example: ``compose`` (the composition), ``all`` (each rewrite and the
    composition), ``sample`` (three rewrites drawn for it, and the composition)."""
    if mode == "all":
        return [*ORDER, ALL]
    if mode == "sample":
        return [*sorted(random.Random(f"{seed}/{chosen.label}/sample").sample(ORDER, 3)), ALL]
    return [ALL]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.metamorphic.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--family", action="append", help="a family of examples (default: every family with "
                        "notebook examples); may be repeated, e.g. --family ece4803-hw6 --family mle-sheet6")
    parser.add_argument("--example", action="append", help="only this example of the families, e.g. answer-key")
    parser.add_argument("--out", required=True, type=Path, help="where to write the folders, e.g. /tmp/rewritten")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every choice (default 0)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--all", dest="mode", action="store_const", const="all",
                      help="each rewrite on its own, and the composition of all")
    mode.add_argument("--sample", dest="mode", action="store_const", const="sample",
                      help="three rewrites drawn per example (seeded), and the composition of all")
    args = parser.parse_args(argv)
    chosen = [e for e in notebook_examples() if (not args.family or e.family.folder.name in args.family)
              and (not args.example or e.name in args.example)]
    count = 0
    for each in chosen:
        count += len(rewritten(each.family.folder.name, each.name, plan(each, args.mode or "compose", args.seed),
                               args.out, args.seed))
    print(f"wrote {count} rewritten submissions of {len(chosen)} notebook examples to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
