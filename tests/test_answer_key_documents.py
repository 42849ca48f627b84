"""The answer key's documents agree with its data: spec, student handout, written answers, starter."""

from __future__ import annotations

import importlib
import tomllib

import pytest

from autograder.answer_key import load_module_from
from autograder.grading.registry import load_assignment, validated
from autograder.spec import LayerSpec, SpecError, available_assignments, parse_assignment
from autograder.starter import make_starter, stale_starters


def test_every_answer_key_folder_is_found():
    assert "cpsc663-ex2" in available_assignments()


@pytest.mark.parametrize("assignment_id", sorted(available_assignments()))
def test_every_assignment_loads_with_known_keys_and_check_types(assignment_id):
    assignment = load_assignment(assignment_id)
    assert assignment.subjects and all(s.checks for s in assignment.subjects.values())
    for subject in assignment.subjects.values():
        for check in subject.checks.values():
            if "recipe" in check.options:
                assert check.options["recipe"] in assignment.recipes


def test_every_model_names_defined_recipes_and_existing_solution_files(cpsc663):
    for model in cpsc663.models.values():
        assert any("recipe" in c.options for c in model.checks.values()), model.name
        assert any((cpsc663.paths["solution"] / f).is_file() for f in model.files), model.name


def _write(tmp_path, text: str):
    (tmp_path / "assignment.toml").write_text('id = "x"\ntitle = "x"\n' + text)
    return tmp_path / "assignment.toml"


def test_spec_rejects_a_check_that_names_an_undefined_recipe(tmp_path):
    path = _write(tmp_path, '[models.M]\nproblem = "1"\ninput = { shapes = [[2]] }\n'
                            '[models.M.checks]\nbrief_training = { points = 1, recipe = "nope" }\n')
    with pytest.raises(SpecError, match="M.checks.brief_training names recipe 'nope', which is not defined"):
        parse_assignment(path)


@pytest.mark.parametrize("text, message", [
    ('[models.M]\nproblem = "1"\ninput_shapes = [[2]]\n', r"models.M: unknown key\(s\) input_shapes; known: "),
    ('coarse = 1\n', r"unknown key\(s\) coarse"),
    ('[models.M]\nkind = "jax"\n', r"models.M.kind: 'jax' is not one of torch, keras, dataset, function"),
    ('[recipes.r]\ntask = "classify"\ndata = "mnist"\nsteps = 1\nbatch_size = 1\noptimizer = "adam"\nlr = 1\n'
     'epochs = 3\n', r"recipe r: unknown keys \['epochs'\]"),
    ('[data.d]\nsource = "mnist"\nscale = "log"\n', r"data.d.scale: 'log' is not one of unit, zscore, symmetric"),
    ('[limits]\ncall_seconds = 5\n', r"limits: unknown key\(s\) call_seconds; known: "),
    ('[limits]\ncall = -1\n', r"limits.call: seconds must be a positive number"),
    ('[answers]\n[answers.variables]\nz = { problem = "1", role = "histogram" }\n',
     r"answers.variables.z.role: 'histogram' is not one of None, scatter, plot_x"),
    ('[models.M]\nproblem = "1"\n[models.M.checks]\nlayer_list = { points = 1, layers = ["ReLU", "Linear(in=784)"] }\n',
     r"models.M.checks.layer_list.layers\[1\]: Linear\(in=784\): Linear takes no setting 'in'; it takes "
     r"in_features, out_features, bias"),
    ('[models.M]\nproblem = "1"\n[models.M.checks]\nlayer_list = { points = 1, layers = ["Conv2D(in_channels=1)"] }\n',
     r"layers\[0\]: Conv2D\(in_channels=1\): 'Conv2D' is not a torch.nn layer nor an operation the grader traces"),
])  # fmt: skip
def test_spec_rejects_unknown_keys_and_values_where_they_are_written(tmp_path, text, message):
    with pytest.raises(SpecError, match=message):
        parse_assignment(_write(tmp_path, text))


def test_an_assignment_sets_its_own_limits_in_seconds_of_computing(tmp_path):
    from autograder.grading import limits

    path = _write(tmp_path, '[limits]\ncall = 45\nnotebook_cell = 300\n'
                            '[models.M]\nproblem = "1"\ninput = { shapes = [[2]] }\nlimit_seconds = 90\n'
                            '[recipes.r]\ntask = "classify"\ndata = "mnist"\nsteps = 100\nbatch_size = 1\n'
                            'optimizer = "adam"\nlr = 1\nlimit_seconds = 500\n'
                            '[recipes.s]\ntask = "classify"\ndata = "mnist"\nsteps = 100\nbatch_size = 1\n'
                            'optimizer = "adam"\nlr = 1\n')
    assignment = parse_assignment(path)
    assert limits.call_seconds(assignment) == 45 and limits.call_seconds(assignment, assignment.subjects["M"]) == 90
    assert limits.cell_seconds(assignment) == 300 and limits.notebook_seconds(assignment) == limits.NOTEBOOK_SECONDS
    assert limits.training_seconds(assignment, assignment.recipe("r")) == 500
    assert limits.training_seconds(assignment, assignment.recipe("s")) == limits.TIMEOUT_TRAIN_BASE + \
        limits.TIMEOUT_TRAIN_PER_STEP * 100


@pytest.mark.parametrize("checks, message", [
    ("code_sizes = 2", "unknown check type 'code_sizes'"),
    ("code_size = { points = 2, widht = 2 }", r"unknown option\(s\) widht; code_size takes width"),
    ("code_size = 2", "code_size needs width"),
    ("dataset_length = 1", "dataset_length applies to subjects of kind dataset, not torch"),
])  # fmt: skip
def test_loading_rejects_unknown_check_types_and_options(tmp_path, checks, message):
    path = _write(tmp_path, f'[models.M]\nproblem = "1"\ninput = {{ shapes = [[2]] }}\n[models.M.checks]\n{checks}\n')
    with pytest.raises(SpecError, match=message):
        validated(parse_assignment(path))


def test_recipe_with_a_variance_is_converted_to_a_standard_deviation(cpsc663):
    assert cpsc663.recipe("cae-denoise").noise_std == 0.3
    assert cpsc663.recipe("cae-denoise-variance").noise_std == pytest.approx(0.3**0.5)


def test_layer_notation_round_trips():
    layer = LayerSpec.parse("Conv2d(in_channels=1, out_channels=4, kernel_size=3)")
    assert layer.type == "Conv2d" and layer.settings == {"in_channels": 1, "out_channels": 4, "kernel_size": 3}
    assert LayerSpec.parse(str(layer)) == layer
    assert LayerSpec.parse("Upsample(scale_factor=2, mode=nearest)").settings == {"scale_factor": 2, "mode": "nearest"}
    with pytest.raises(SpecError, match="is not key=value"):
        LayerSpec.parse("Conv2d(3)")


def test_student_handout_names_every_class_file_and_weight_file(cpsc663):
    handout = cpsc663.paths["student_handout"].read_text()
    for model in cpsc663.models.values():
        assert f"`{model.name}`" in handout
        for name in (*model.files, *model.weights):
            assert f"`{name}`" in handout, name


def test_student_handout_names_the_numeric_answer_variables(cpsc663):
    handout = cpsc663.paths["student_handout"].read_text()
    from reference.cpsc663_ex2 import backprop, output_size

    for name in ("delta3", "delta2", "dC_dW3", "dC_db3", "dC_dW2", "dC_db2"):
        assert name in backprop.Backprop.__dataclass_fields__ and f"{name} =" in handout
    for case in output_size.CASES:
        assert f"output_size_{case} =" in handout


def test_written_answers_cover_the_handouts_written_problems(cpsc663):
    problems = tomllib.loads(cpsc663.paths["written"].read_text())["problems"]
    ids = [p["id"] for p in problems]
    assert {"1.1", "1.2", "2.1", "2.2", "2.3", "3.1", "3.2", "5.1", "5.2", "5.3", "bonus"} <= set(ids)
    assert len(ids) == len(set(ids))
    for problem in problems:
        assert problem["question"].strip() and problem["answer"].strip() and problem["rubric"], problem["id"]


def test_written_derivations_name_existing_checks(cpsc663):
    derivations = importlib.import_module(f"{cpsc663.package}.derivations")
    problems = tomllib.loads(cpsc663.paths["written"].read_text())["problems"]
    checked = {p["id"]: p["checked_by"] for p in problems if "checked_by" in p}
    assert checked
    for problem, target in checked.items():
        module, _, function = target.partition(".")
        assert module == "derivations" and derivations.CHECKS[problem].__name__ == function


def test_starter_is_made_from_the_solution_and_up_to_date(cpsc663):
    assert not stale_starters(cpsc663), "run: autograder starter cpsc663-ex2"


def test_starter_leaves_the_students_parts_to_do(cpsc663):
    starter = load_module_from(cpsc663.paths["starter"] / "prob4_CNN.py", "starter_prob4")
    model = starter.CNN()
    assert model.conv1.out_channels == 40
    with pytest.raises(NotImplementedError):
        starter.visualize_filters(model)
    text = (cpsc663.paths["starter"] / "prob4_CNN.py").read_text()
    assert "BEGIN SOLUTION" not in text and "save_image" not in text


def test_make_starter_keeps_indentation():
    solution = "def f():\n    x = 1\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert make_starter(solution) == (
        "def f():\n    x = 1\n    # TODO: write this part (see the docstring above).\n"
        '    raise NotImplementedError("this part of the problem is yours to write")\n'
    )


@pytest.mark.parametrize("assignment_id", sorted(available_assignments()))
def test_written_parts_graded_by_hand_have_questions_model_answers_and_rubrics(assignment_id):
    assignment = load_assignment(assignment_id)
    written = tomllib.loads(assignment.paths["written"].read_text())["problems"]
    assert written and len({p["id"] for p in written}) == len(written)
    for problem in written:
        assert problem["question"].strip() and problem["answer"].strip() and problem["rubric"], problem["id"]
        assert problem["points"] >= 0


@pytest.mark.parametrize("assignment_id", sorted(available_assignments()))
def test_the_student_handout_names_every_subject_the_grader_reads(assignment_id):
    assignment = load_assignment(assignment_id)
    handout = assignment.paths["student_handout"].read_text()
    for subject in assignment.subjects.values():
        if subject.find != "fit":
            assert f"`{subject.name}" in handout, f"{subject.name} is not in {assignment.paths['student_handout'].name}"
