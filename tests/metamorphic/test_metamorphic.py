"""Metamorphic tests of notebook grading: what a notebook computes is kept by each rewrite, so its grade must be.

The unit tests check the rewrites themselves (no grading): the code still parses, the names the handout fixes
are kept, a rewritten cell computes what the original did. The grading tests grade rewritten example
notebooks with ``grade_many`` and hold each to the grade its ``expected.toml`` gives the original: a correct
example keeps full marks, a broken one fails exactly the same checks, with the same words.
"""

from __future__ import annotations

import ast
import copy
import json
import random

import pytest

from autograder.batch.run import grade_many
from autograder.grading import resources
from autograder.grading.examples import differences
from autograder.grading.registry import load_assignment
from tests.conftest import SHARED_DATA

from .cells import compiles, idempotent, mask, name_table, rename_names, source_of
from .generate import ALL, example, handout_for, notebook_examples, quoted_names, rewrite_example, write_submission
from .headings import FORMS, HEADING_FORMS, read_headings, read_line
from .rewrites import (
    ORDER,
    REWRITES,
    Handout,
    compose,
    handout_of,
    prose_answer,
    rewrite_headings_in,
)

EXAMPLES = notebook_examples()
EXAMPLE_IDS = [e.label for e in EXAMPLES]
ANSWER_KEYS = [e for e in EXAMPLES if e.name == "answer-key"]


def notebook(*cells: str, minor: int = 5) -> dict:
    """A notebook of the cells given: ``"# md: text"`` for markdown, anything else is code."""
    made = []
    for index, text in enumerate(cells):
        kind = "markdown" if text.startswith("# md:") else "code"
        cell = {"cell_type": kind, "id": f"c{index}", "metadata": {},
                "source": text.removeprefix("# md:").lstrip().splitlines(keepends=True)}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        made.append(cell)
    return {"cells": made, "metadata": {}, "nbformat": 4, "nbformat_minor": minor}


def code_of(nb: dict) -> list[str]:
    return [source_of(c) for c in nb["cells"] if c["cell_type"] == "code"]


def run(nb: dict) -> dict:
    """Execute the notebook's code cells in one namespace (no magics in the notebooks run here)."""
    namespace: dict = {}
    for code in code_of(nb):
        exec(compile(code, "<cell>", "exec"), namespace)  # noqa: S102 - the tests' own notebooks
    return namespace


def rng() -> random.Random:
    return random.Random(0)


HANDOUT = Handout(frozenset({"Net", "DigitsDataset"}))


# ---------------------------------------------------------------- the handout


def test_handout_fixes_the_classes_the_grader_builds_not_the_variables_it_reads():
    handout = handout_of(load_assignment("ece4803-hw6"))
    assert {"MyMLPAE", "MyCAE", "MyRegAE", "DigitsDataset"} <= handout.fixed_names
    assert "net" not in handout.fixed_names and "input_neurons" not in handout.fixed_names
    assert handout.text_answers == {"1a": 64, "1b": 64}
    assert handout.text_variables == {"1a": "input_neurons", "1b": "output_neurons"}


def test_handout_fixes_the_answer_variables_of_an_answers_file_and_the_functions_called():
    assert {"delta3", "output_size_d", "AE", "CAE_skip"} <= handout_of(load_assignment("cpsc663-ex2")).fixed_names
    mle = handout_of(load_assignment("mle-sheet6"))
    assert {"train_cnn", "encode_samples", "Image_Dataset"} <= mle.fixed_names
    assert "encoded_samples" not in mle.fixed_names  # answers in the notebook: a variable the student names


def test_names_the_expected_feedback_quotes_are_kept():
    assert quoted_names({"notebook/runs": "NameError: name 'net' is not defined", "x": "has no attribute 'imshw'"}) \
        == {"net", "imshw"}


# ---------------------------------------------------------------- magics


def test_magics_are_masked_for_python_and_restored_as_they_were():
    source = "%%capture\n!pip install torch\nfor i in range(2):\n    %time x = f(i)\nfiles = !ls\nmodel?\n"
    masked = mask(source)
    assert ast.parse(masked.code) and "!" not in masked.code and "%" not in masked.code
    assert masked.restore(masked.code) == source
    assert mask("%%bash\necho hi\n").opaque
    assert compiles("%matplotlib inline\nimport numpy as np") and not compiles("x = (")


# ---------------------------------------------------------------- rename_free_names


def test_rename_keeps_attributes_keywords_strings_and_renames_in_f_strings():
    code = "net = Net()\nmodel = build(net=net)\nprint(f'{net} and {model.net}', 'net')\nnet.net = net\n"
    renamed = rename_names(code, {"net": "detector"})
    assert renamed == ("detector = Net()\nmodel = build(net=detector)\nprint(f'{detector} and {model.net}', 'net')"
                       "\ndetector.net = detector\n")


def test_rename_free_names_renames_template_names_and_keeps_what_the_handout_fixes():
    nb = notebook("%matplotlib inline\nimport torch\nclass Net(torch.nn.Module):\n    size = 3\n",
                  "net = Net()\ncode_sizes = [5, 10]\nfor size in code_sizes:\n    print(size)\n",
                  "def train(model, lr=0.1):\n    steps = 2\n    return model, steps\n",
                  "model = net\nnet2, steps = train(model=net, lr=0.5)\n")
    new = REWRITES["rename_free_names"](nb, HANDOUT, rng())
    table = name_table(new)
    assert {"Net", "torch"} <= table.bound | table.imported
    assert not {"net", "code_sizes", "steps", "net2", "train"} & table.bound  # renamed
    assert {"model", "size"} <= table.bound  # a parameter's name (keyword calls work), a class attribute
    assert "lr" in table.keywords and "size = 3" in code_of(new)[0]
    assert code_of(new)[0].startswith("%matplotlib inline\n")


def test_renamed_notebook_computes_the_same_values_under_the_new_names():
    nb = notebook("data = [1, 2, 3]\ntotal = 0\nfor value in data:\n    total += value\n",
                  "def double(xs):\n    out = [2 * x for x in xs]\n    return out\n",
                  "result = double(data)\nlabel = f'{total}:{result}'\n")
    old, new = run(nb), run(REWRITES["rename_free_names"](nb, Handout(), rng()))
    names = {"data", "total", "value", "double", "result", "label"}
    assert not names & set(new)  # every one renamed
    assert sorted(repr(old[n]) for n in names - {"double"}) == sorted(
        repr(v) for k, v in new.items() if not callable(v) and not k.startswith("__"))


@pytest.mark.parametrize("chosen", ANSWER_KEYS, ids=[e.label for e in ANSWER_KEYS])
def test_rename_on_an_answer_key_keeps_fixed_names_attributes_and_keywords(chosen):
    handout = handout_of(load_assignment(chosen.family.assignment))
    nb = chosen.read()
    new = REWRITES["rename_free_names"](nb, handout, rng())
    before, after = name_table(nb), name_table(new)
    assert handout.fixed_names & before.bound <= after.bound
    assert after.keywords == before.keywords and after.params == before.params
    attributes = [{n.attr for c in code_of(x) if (t := _tree(c)) for n in ast.walk(t) if isinstance(n, ast.Attribute)}
                  for x in (nb, new)]
    assert attributes[0] == attributes[1]
    if chosen.family.assignment == "ece4803-hw6":
        assert "net" in before.bound and "net" not in after.bound


def _tree(code: str):
    masked = mask(code)
    try:
        return ast.parse(masked.code)
    except SyntaxError:
        return None


# ---------------------------------------------------------------- move_training_into_helper

TRAINING = """class Opt:
    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1


opt = Opt()
total = 0
for epoch in range(3):
    loss = epoch * 2
    total += loss
    opt.step()
else:
    done = True
last = loss
"""


def test_training_loop_moved_into_a_helper_binds_the_same_globals():
    nb = notebook(TRAINING, "after = (epoch, loss, total, done, opt.steps)\n")
    new = REWRITES["move_training_into_helper"](nb, Handout(), rng())
    code = code_of(new)[0]
    assert "global done, epoch, loss, total\n" in code and code.count("def ") == 3
    old_values, new_values = run(nb), run(new)
    assert new_values["after"] == old_values["after"] == (2, 4, 6, True, 3)
    assert new_values["last"] == 4


def test_a_loop_that_does_not_train_stays_at_the_top():
    nb = notebook("for i in range(3):\n    print(i)\n")
    assert REWRITES["move_training_into_helper"](nb, Handout(), rng()) is None


# ---------------------------------------------------------------- inline_helper


def test_a_helper_called_once_is_written_out_without_clobbering_globals():
    nb = notebook("def scale(values, factor=2):\n    '''Doubled, summed.'''\n"
                  "    total = sum(v * factor for v in values)\n    return total + offset\n",
                  "total = 100\noffset = 1\nresult = scale([1, 2, 3])\n")
    new = REWRITES["inline_helper"](nb, Handout(), rng())
    namespace = run(new)
    assert namespace["result"] == 13 and namespace["total"] == 100 and "scale" not in namespace
    assert len(new["cells"]) == 1


def test_a_helper_called_twice_or_fixed_by_the_handout_is_not_inlined():
    twice = notebook("def f(x):\n    return x + 1\n", "a = f(1)\nb = f(2)\n")
    assert REWRITES["inline_helper"](twice, Handout(), rng()) is None
    once = notebook("def f(x):\n    return x + 1\n", "a = f(1)\n")
    assert REWRITES["inline_helper"](once, Handout(frozenset({"f"})), rng()) is None
    early_return = notebook("def f(x):\n    if x:\n        return 1\n    return 2\n", "a = f(1)\n")
    assert REWRITES["inline_helper"](early_return, Handout(), rng()) is None


# ---------------------------------------------------------------- headings

LINES = [
    ("**Solution to Problem 1 Part (a)**", ("1a",)),
    ("**Solution to Problem 1 Part (f)** and **Part (g)**", ("1f", "1g")),
    ("## Problem 1: MLP-based Autoencoders (35pts)", ("1",)),
    ("#### Problem 1 (f) (g) Solution", ("1f", "1g")),
    ("## Problem 2 (b) Run on Fashion MNIST (15 points)", ("2b",)),
    ("### Problem 4.2", ("4.2",)),
    ("### 4.1", ("4.1",)),
    ("## ▼ Problem 3 (a) (b) Solution", ("3a", "3b")),
    ("<font color='red'>**Solution to Problem 1 Part (d)**</font>", ("1d",)),
    ("### 1(d)", ("1d",)),
    ("**Problem 1 d)**", ("1d",)),
    ("Part (d) of Problem 1", ("1d",)),
    ("Answer 1.d", ("1d",)),
    ("<h3>Problem 1 (d)</h3>", ("1d",)),
    ("**Problem 1(d)**", ("1d",)),
    ("## ✅ Problem 1 (d)", ("1d",)),
    ("### 2.4 Problem 1 (d)", ("1d",)),
    ("Part (f) and Part (g) of Problem 1", ("1f", "1g")),
    ("**Task 2.1**", ("2.1",)),
    ("#### Exercise 2, Task 1", ("2.1",)),
    ("<h2>Exercise 2: CNN Classifier</h2>", ("2",)),
]


@pytest.mark.parametrize("line, problems", LINES)
def test_heading_forms_are_read(line, problems):
    nb = notebook(f"# md: {line}")
    assert [h.problems for h in read_headings(nb)] == [problems]


@pytest.mark.parametrize("line", ["Problem 5.1 A bottleneck much smaller than the input", "## 2.",
                                  "- (a) What is the number of neurons?", "**1.** For independent X",
                                  "# Exercise II (Colab)", "For Problem 5.4, see below"])
def test_paragraphs_and_items_are_not_headings(line):
    assert read_line(line) is None


def test_a_task_belongs_to_the_exercise_above_it():
    nb = notebook("# md: ## Exercise 2 - CNN Classifier", "# md: ### Task 1", "# md: ## Exercise 3",
                  "# md: ### 1.2.1 Task 2")
    assert [h.problems for h in read_headings(nb)] == [("2",), ("2.1",), ("3",), ("3.2",)]


@pytest.mark.parametrize("form", sorted(HEADING_FORMS))
@pytest.mark.parametrize("chosen", EXAMPLES, ids=EXAMPLE_IDS)
def test_each_heading_form_names_the_same_problems_and_keeps_the_rest(chosen, form):
    nb = chosen.read()
    new = rewrite_headings_in(nb, form)
    assert [h.problems for h in read_headings(new)] == [h.problems for h in read_headings(nb)]
    rewritten = {(h.cell, h.line) for h in read_headings(nb)}
    for index, (old, cell) in enumerate(zip(nb["cells"], new["cells"], strict=True)):
        kept = [line for i, line in enumerate(source_of(old).splitlines()) if (index, i) not in rewritten]
        assert kept == [line for i, line in enumerate(source_of(cell).splitlines()) if (index, i) not in rewritten]


def test_several_parts_keep_all_their_parts_in_every_form():
    nb = notebook("# md: **Solution to Problem 1 Part (f)** and **Part (g)**\n\nText.")
    for form in FORMS:
        new = rewrite_headings_in(nb, form.name)
        assert read_headings(new)[0].problems == ("1f", "1g"), form.name
        assert source_of(new["cells"][0]).endswith("\n\nText.")


# ---------------------------------------------------------------- write_answers_in_prose


def test_answers_are_written_in_prose_and_their_variable_renamed():
    handout = handout_of(load_assignment("ece4803-hw6"))
    nb = example("ece4803-hw6", "answer-key").read()
    new = REWRITES["write_answers_in_prose"](nb, handout, rng())
    for problem in ("1a", "1b"):
        heading = next(h for h in read_headings(new) if h.problems == (problem,))
        text = source_of(new["cells"][heading.cell])
        assert "64" in text and "Each image has" not in text and "reconstructs the input" not in text
    assert not {"input_neurons", "output_neurons"} & name_table(new).bound
    assert any("8 * 8" in code for code in code_of(new))


def test_prose_answers_use_the_value_and_a_dimension_only_for_64():
    assert all("64" in prose_answer(64, "input_neurons", random.Random(s)) for s in range(20))
    assert all("8" not in prose_answer(10, "output_neurons", random.Random(s)) for s in range(20))


# ---------------------------------------------------------------- add_unrelated_models


def test_unrelated_models_are_inserted_at_each_place_and_leave_the_random_state():
    torch = pytest.importorskip("torch")
    nb = notebook("import torch\nnn = 3\n", "# md: ## Problem 1", "x = 1\n", "# md: ## Problem 2", "y = 2\n")
    new = REWRITES["add_unrelated_models"](nb, Handout(), rng())
    kinds = [c["cell_type"][0] + ("+" if c["id"] not in {f"c{i}" for i in range(5)} else "") for c in new["cells"]]
    assert kinds == ["c", "c+", "m", "c", "c+", "m", "c", "c+"]
    torch.manual_seed(0)
    state = torch.get_rng_state()
    namespace = run(new)
    assert torch.equal(torch.get_rng_state(), state) and namespace["nn"] == 3  # the notebook's own nn is kept
    assert len({c["id"] for c in new["cells"]}) == len(new["cells"])


# ---------------------------------------------------------------- rerun_cell_twice and reorder


@pytest.mark.parametrize("code, again", [
    ("def f():\n    return 1\n", True),
    ("class A:\n    pass\n", True),
    ("for e in range(3):\n    opt.step()\n", True),
    ("x = x + 1\ndef f():\n    pass\n", False),
    ("results.append(1)\ndef f():\n    pass\n", False),
    ("data[0] = 1\ndef f():\n    pass\n", False),
    ("total += 1\nopt.step()\n", False),
    ("print(1)\n", False),
])
def test_only_idempotent_definition_and_training_cells_run_twice(code, again):
    new = REWRITES["rerun_cell_twice"](notebook(code), Handout(), rng())
    assert (new is not None and code_of(new) == [code, code]) == again


def test_idempotent_reads_names_in_the_order_they_are_evaluated():
    from .cells import effects_of

    assert not idempotent(effects_of(ast.parse("x = x + 1")))
    assert idempotent(effects_of(ast.parse("x = 0\nx = x + 1")))
    assert idempotent(effects_of(ast.parse("net.train()\nfor b in loader:\n    opt.step()")))


@pytest.mark.parametrize("cells, swapped", [
    (("a = 1\n", "b = 2\n"), True),
    (("a = 1\n", "b = a\n"), False),
    (("a.append(1)\n", "print(a)\n"), False),
    (("x = torch.randn(3)\n", "y = torch.randn(3)\n"), False),
    (("%matplotlib inline\na = 1\n", "b = 2\n"), False),
    (("def f():\n    return g\n", "g = 1\n"), False),
    (("train(net)\n", "evaluate(net)\n"), False),
])
def test_adjacent_cells_are_swapped_only_when_independent(cells, swapped):
    nb = notebook(*cells)
    new = REWRITES["reorder_independent_cells"](nb, Handout(), rng())
    assert (new is not None and code_of(new) == list(reversed(code_of(nb)))) == swapped


# ---------------------------------------------------------------- change_batch_sizes

LOADERS = """import torch
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
data = TensorDataset(torch.randn(40, 1, 4, 4), torch.arange(40))
train_loader = DataLoader(data, batch_size=64, shuffle=True)
test_loader = DataLoader(data, batch_size=len(data), shuffle=True)
"""
TRAINS = """model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, _ in train_loader:
    opt.zero_grad()
    model(x.flatten(1)).pow(2).mean().backward()
    opt.step()
"""


def test_batch_sizes_change_and_ten_test_images_are_plotted_leaving_the_random_state(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = notebook(LOADERS, TRAINS, "after = torch.rand(3)\n")
    new = REWRITES["change_batch_sizes"](nb, Handout(), rng())
    loaders, trains, _ = code_of(new)
    assert "batch_size=32, shuffle=True" in loaders and "batch_size=len(data)" in loaders
    assert trains.startswith(TRAINS) and "next(iter(test_loader))" in trains and "[look_i]" in trains
    namespace = run(new)
    assert torch.equal(run(nb)["after"], namespace["after"]) and len(namespace["look_axes"]) == 10


# ---------------------------------------------------------------- every rewrite on every example


@pytest.mark.parametrize("name", ORDER)
@pytest.mark.parametrize("chosen", EXAMPLES, ids=EXAMPLE_IDS)
def test_rewrites_keep_every_cell_python_and_never_change_their_input(chosen, name):
    nb = chosen.read()
    before = json.dumps(nb)
    handout = handout_for(chosen)
    new = REWRITES[name](nb, handout, rng())
    assert json.dumps(nb) == before
    if new is None:
        return
    broken = [i for i, code in enumerate(code_of(nb)) if not compiles(code)]
    assert len([c for c in code_of(new) if not compiles(c)]) == len(broken)
    assert json.dumps(new) == json.dumps(REWRITES[name](copy.deepcopy(nb), handout, rng()))  # seeded
    ids = [c.get("id") for c in new["cells"]]
    assert len(set(ids)) == len(ids)
    assert [h.problems for h in read_headings(new)] == [h.problems for h in read_headings(nb)]


def test_compose_applies_in_order_and_says_which_applied():
    nb = notebook("def f():\n    return 1\n", "value = f()\n")
    new, applied = compose(nb, Handout(), rng(), ["rerun_cell_twice", "inline_helper", "rename_free_names"])
    assert applied == ["rerun_cell_twice", "rename_free_names"]  # f is defined twice: not a helper to inline
    assert len(new["cells"]) == 3


# ---------------------------------------------------------------- grading

DATA = SHARED_DATA if (SHARED_DATA / "mnist").is_dir() else None
CASES = [pytest.param(e, id=e.label) for e in EXAMPLES]
# The fast tier's sample: one correct notebook per family, the quickest to grade (the sequential style where a
# family has one: its answer key trains more models)
QUICKEST = ("sequential-style",)


def _quickest(folder):
    correct = [e for e in EXAMPLES if e.family.folder == folder and not e.fails]
    return next((e for e in correct if e.name in QUICKEST), correct[0])


SAMPLE = [pytest.param(e, id=e.label) for e in map(_quickest, dict.fromkeys(x.family.folder for x in EXAMPLES))]
SINGLE = [pytest.param(e, name, id=f"{e.label}/{name}") for e in EXAMPLES for name in ORDER]
FORM_CASES = [pytest.param(e, form, id=f"{e.label}/{form}") for e in ANSWER_KEYS for form in sorted(HEADING_FORMS)]


def _case(item) -> tuple | None:
    """(example, what is graded) of a grading test: a rewrite's name, ``ALL``, or ("form", name)."""
    params = getattr(item, "callspec", None) and item.callspec.params
    if not params or "graded" not in item.fixturenames or "chosen" not in params or item.get_closest_marker("skip"):
        return None
    what = params.get("name") or (("form", params["form"]) if "form" in params else ALL)
    return params["chosen"], what


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory) -> dict:
    """Every rewritten notebook the selected grading tests need, graded at once as a class is (several at a time,
    each in its own worker, the assignment recognised from the files): (example label, what) -> result, or None
    when the rewrite does not apply."""
    out = tmp_path_factory.mktemp("rewritten")
    folders, results = {}, {}
    for item in request.session.items:
        case = _case(item)
        if case is None or (case[0].label, case[1]) in results:
            continue
        chosen, what = case
        key = (chosen.label, what)
        new = rewrite_headings_in(chosen.read(), what[1]) if isinstance(what, tuple) else rewrite_example(chosen,
                                                                                                          what)
        results[key] = None
        if new is not None:
            label = what if isinstance(what, str) else f"form-{what[1]}"
            folders[key] = write_submission(chosen, new, out / f"{chosen.family.folder.name}--{chosen.name}--{label}")
    if folders:  # the longest gradings first, so that those graded at once end together
        order = sorted(folders, key=lambda key: _graded_first(key[0]))
        graded_ = grade_many([folders[key] for key in order], jobs=resources.default_jobs("cpu"), device="cpu",
                             data_dir=DATA)
        results.update(zip(order, graded_, strict=True))
    return results


# The families whose notebooks take longest to grade (measured on the fast tier's sample, two at a time: mle-sheet6
# 39 s, ece4803-hw6 26 s, cpsc663-ex2 19 s, keras-autoencoders 14 s; the sample took 66 s in the order the
# families are listed, where mle-sheet6 came last, and 50 s with these first)
GRADED_FIRST = ("mle-sheet6", "ece4803-hw6")


def _graded_first(label: str) -> int:
    family = label.split("/")[0]
    return GRADED_FIRST.index(family) if family in GRADED_FIRST else len(GRADED_FIRST)


def _assert_same_grade(chosen, what, graded):
    __tracebackhide__ = True
    result = graded[(chosen.label, what)]
    if result is None:
        pytest.skip(f"{what} does not apply to {chosen.label}")
    problems = differences(result, chosen.family, chosen.fails)
    if problems:
        pytest.fail(f"{chosen.label} rewritten ({what if isinstance(what, str) else ' '.join(what)}) does not get the "
                    "original's grade:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize("chosen", CASES)
def test_all_rewrites_together_keep_the_grade(chosen, graded):
    _assert_same_grade(chosen, ALL, graded)


@pytest.mark.parametrize("chosen", SAMPLE)
def test_all_rewrites_together_keep_the_grade_of_a_sample(chosen, graded):
    """The fast tier's share of the test above: a few notebooks, graded through warm templates."""
    _assert_same_grade(chosen, ALL, graded)


@pytest.mark.slow
@pytest.mark.metamorphic_full
@pytest.mark.parametrize("chosen, name", SINGLE)
def test_each_rewrite_keeps_the_grade(chosen, name, graded):
    _assert_same_grade(chosen, name, graded)


@pytest.mark.slow
@pytest.mark.parametrize("chosen, form", FORM_CASES)
def test_each_heading_form_keeps_the_answer_keys_full_marks(chosen, form, graded):
    _assert_same_grade(chosen, ("form", form), graded)
