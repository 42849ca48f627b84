"""Problem headings read as a TA reads them, and numbers in prose read as the answer a person would see."""

from __future__ import annotations

import nbformat
import pytest

from autograder.headings import markers
from autograder.notebooks import problem_windows, text_answer
from autograder.prose_numbers import numbers_in_line, read

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


@pytest.mark.parametrize("line", [
    "<font color='red'>**Solution to Problem 1 Part (d)**</font>",  # the form ECE 4803's handout prescribes
    "### 1(d)", "## 1 (d)", "**Problem 1 d)**", "**Problem 1(d):**", "Part (d) of Problem 1", "Answer 1.d",
    "<h3>Problem 1 (d)</h3>", "## ✅ Problem 1 (d)", "## ▼ Problem 1 (d) Solution", "### 2.4 Problem 1 (d)",
    "## Q1(d)", "### Problem 1.d", "Problem 1, part d", "#### Problem 1 (d) Solution", "__Problem 1 (d)__",
])  # fmt: skip
def test_every_common_form_of_a_heading_names_its_part(line):
    assert markers(line)[0] == ["1d"]


@pytest.mark.parametrize("line, keys", [
    ("#### Problem 3 (a) (b) Solution", ["3a", "3b"]),
    ("**Solution to Problem 1 Part (f)** and **Part (g)**", ["1f", "1g"]),
    ("Problem 3 (a)-(c)", ["3a", "3b", "3c"]),
    ("## Problem 2 (b) Run on Fashion MNIST (15 points)", ["2b"]),
    ("## ▼ Problem 1: MLP-based Autoencoders (35pts)", ["1"]),
    ("### 4.1", ["4.1"]),
    ("Problem 5.1 1) A bottleneck.", ["5.1"]),
    ("Problem 6.2 With skip connections the reconstructions are sharper.", ["6.2"]),
    ("Bonus: soft maximum", ["bonus"]),
])  # fmt: skip
def test_headings_naming_several_parts_or_a_whole_problem(line, keys):
    assert markers(line)[0] == keys


@pytest.mark.parametrize("line", [
    "## 1 Machine Learning Essentials SS25 - Exercise Sheet 6", "**2.** With padding p on every side the image is",
    "Problems with this architecture: a ReLU at the output", "Exercise Sheet 6", "We trained for 50 epochs.",
    "- (b) I see the training and test scores lie mostly on the left", "Answer: 64 (one neuron per pixel)",
    "Answer 64, since 8 x 8", "Solution: 5 hidden neurons",
])  # fmt: skip
def test_prose_and_titles_are_not_read_as_problems(line):
    assert markers(line, ("2", "1"))[0] == []


def test_tasks_and_bare_parts_are_read_within_the_heading_above():
    within = (None, None)
    found = []
    for line in ["## Exercise 2 - CNN Classifier", "### 1.2.1 Task 1", "#### 1.2.2 Task 2", "#### Exercise 3, Task 4",
                 "**Task 2.1**", "<h2>Exercise 3: CNN Autoencoder</h2>", "### Task 1", "Task 3 of Exercise 5",
                 "Answer 3.4", "### 3.5 Task 5", "## Problem 4", "### (b)", "**Part (c)**", "## Exercise 1", "## 2.",
                 "## 3. Convolutional autoencoders"]:
        keys, within = markers(line, within)
        found.append(keys)
    assert found == [["2"], ["2.1"], ["2.2"], ["3.4"], ["2.1"], ["3"], ["3.1"], ["5.3"], ["3.4"], ["3.5"], ["4"],
                     ["4b"], ["4c"], ["1"], ["1.2"], ["3"]]


def test_a_heading_naming_several_parts_gives_each_the_cells_under_it():
    notebook = nbformat.v4.new_notebook(cells=[
        md("## Problem 3 (a) (b) Solution"), code("net = 1"), md("#### Problem 3 (b) (c) Solution"), md("words"),
        md("<font color='red'>**Solution to Problem 3 Part (d)**</font>"), code("net = 2"),
    ])  # fmt: skip
    windows = problem_windows(notebook, ["3a", "3b", "3c", "3d"])
    assert windows == {"3a": (0, 2), "3b": (0, 4), "3c": (2, 4), "3d": (4, 6)}


# ---------------------------------------------------------------- numbers written in prose


@pytest.mark.parametrize("line", [
    "64 inputs, one for each of the 8x8 pixels", "**64** (8 x 8)", "Number of neurons in the input layer = 8\\*8 = 64",
    "Each image has 8 x 8 = 64 pixels, one input neuron each: 64.",
    "The images are 8 × 8, so the layer has 64 neurons.",
    "Answer: 64 (one neuron per pixel of the 8x8 image; pixel values range 0-16)", "$8 \\times 8 = 64$ neurons", "64",
    "Input layer: 64 neurons (8x8 images, with values from 0 to 16)", "In Problem 1 the input has 64 neurons",
    "We tried sizes 5, 20, 40 and 80; the input layer has 64", "<b>64</b>, since 8 * 8 = 64",
    "The input layer has 64 neurons (one per pixel); the hidden layer has 5.",
])  # fmt: skip
def test_a_sentence_that_states_the_right_value_is_read_as_it(line):
    chosen, right = read(numbers_in_line(line), lambda value: value == 64)
    assert right and chosen.value == 64, numbers_in_line(line)


@pytest.mark.parametrize("line, read_value, why", [
    ("The answer is **32**, not 64", 32, "emphasised"),
    ("8x8 images, so 8 neurons", 8, "in a sentence"),
    ("Number of neurons = 8\\*8 = 65", 65, "after '='"),
    ("63", 63, "alone on its line"),
])  # fmt: skip
def test_a_wrong_answer_is_read_as_written_and_says_why(line, read_value, why):
    chosen, right = read(numbers_in_line(line), lambda value: value == 64)
    assert not right and (chosen.value, chosen.why) == (read_value, why)


def test_a_string_of_guesses_is_not_an_answer():
    chosen, right = read(numbers_in_line("maybe 10 or 64 or 100, I'd say 128"), lambda value: value == 64)
    assert not right and chosen.value == 128


def test_numbers_that_only_explain_are_not_candidates():
    assert [w.value for w in numbers_in_line("images of 28×28 pixels, values 0-255, classes 0, 1, 2, 3")] == []
    assert numbers_in_line("the digits from 0 to 9 (see Figure 3)") == []


def test_the_answer_is_read_under_its_own_heading_not_from_the_label():
    notebook = nbformat.v4.new_notebook(cells=[
        md("### 1(a)"), md("64 inputs, one for each of the 8x8 pixels"),
        md("**Problem 1 (b)**: 64"), code("x = 1"), md("## Problem 2 (a)\nA 3x3 kernel keeps 8x8 with padding 1."),
    ])  # fmt: skip
    assert [w.value for w in text_answer(notebook, "1a")] == [64]
    assert [w.value for w in text_answer(notebook, "1b")] == [64]
    assert [w.value for w in text_answer(notebook, "2a")] == [1]
    assert text_answer(notebook, "3a") is None


def test_a_numbered_step_within_a_problem_is_not_a_problem():
    notebook = nbformat.v4.new_notebook(cells=[
        md("## Problem 2 (c)"), md("### 1. Sweep over code sizes"), code("code_sizes = [5, 35, 95]"),
        md("### 2. Plot the losses"), code("x = 1"), md("## Problem 3"),
    ])  # fmt: skip
    assert problem_windows(notebook, ["2c", "3"]) == {"2c": (0, 5), "3": (5, 6)}
    numbered = nbformat.v4.new_notebook(cells=[md("## 1. MLP autoencoders"), code("a = 1"),
                                               md("## 2. Convolutional autoencoders"), code("b = 2")])
    assert problem_windows(numbered, ["1", "2"]) == {"1": (0, 2), "2": (2, 4)}  # no worded headings: problems
