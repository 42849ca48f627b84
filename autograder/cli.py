"""The ``autograder`` command.

    autograder grade PATH... [--results F] [--junit F] [--out DIR]   grade submissions
    autograder examples [ROOT]                    grade the bundled examples against their expected grades
    autograder check [PATH] [--kit DIR]           a student's check of their own folder (public checks)
    autograder export PATH... [--out DIR]         written answers beside the problems, HTML and PDF
    autograder data [--data-dir DIR]              list the data sets and where they come from
    autograder data prepare ROOT [--data-dir DIR] write a torchvision-layout copy under ROOT
    autograder answer-key [ID ...]                compute every analytic answer two ways and compare
    autograder calibrate PATH-or-ID [--recipe NAME ...]   derive thresholds from the reference models
    autograder starter ID [--check]               write the student starters from the solution
    autograder student-kit ID [--out DIR]         write the public checks for students (no answer key)
    autograder gradescope ID --out autograder.zip the zip Gradescope's autograder asks for
    autograder similarity FOLDER [--out F.html]   pairs of submissions whose code, weights or structure are alike
"""

from __future__ import annotations

import argparse
import sys

from . import datasets
from .calibration import CalibrationError
from .spec import SpecError


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"folder of IDX data sets laid out like ../shared/data (default: ${datasets.DATA_DIR_ENV})",
    )


def cmd_data(args) -> int:
    if args.action == "prepare":
        from .datasets.torchvision_layout import prepare_torchvision_root

        if not args.root:
            print("autograder data prepare: give the ROOT folder to write into", file=sys.stderr)
            return 2
        for copy in prepare_torchvision_root(args.root, args.data_dir):
            where = copy.folder if copy.folder else "skipped"
            print(f"{copy.name:14} {where}  {copy.sizes}\n{'':14} {copy.note}")
        return 0
    status = 0
    for name in datasets.DATASETS:
        try:
            print(datasets.load_dataset(name, args.data_dir).describe())
        except datasets.DataNotFound as missing:
            print(f"{name}: not available\n{missing}")
            status = 1 if args.strict else status
    return status


def cmd_answer_key(args) -> int:
    from .grading.registry import load_assignment
    from .render_answer_key import render_analytic_answers
    from .spec import available_assignments

    ids = args.ids or list(available_assignments())
    for assignment_id in ids:
        print(render_analytic_answers(load_assignment(assignment_id)))
    return 0


def cmd_calibrate(args) -> int:
    import torch

    from .answer_key import thresholds_path
    from .calibration import calibrate
    from .devices import choose_device
    from .grading import resources
    from .grading.registry import load_assignment

    assignment = load_assignment(assignment_argument(args.id))
    seeds = tuple(range(args.seeds)) if args.seeds else None
    device = choose_device(args.device)
    share = resources.share(1, str(device))  # the cores free now: a torch thread per core collapses under load
    torch.set_num_threads(share.threads)
    print(f"training on {share.threads} thread(s): the cores free now", flush=True)
    calibrate(assignment, data_dir=args.data_dir, device=device, recipes=args.recipe, seeds=seeds)
    print(f"wrote {thresholds_path(assignment)}")
    return 0


def cmd_lint_assignment(args) -> int:
    from pathlib import Path

    from .grading.lint import lint
    from .spec import available_assignments

    target = Path(assignment_argument(args.id))
    if not target.exists():
        target = available_assignments().get(args.id, target)
    if not Path(target).exists():
        print(f"autograder: no assignment.toml at {args.id}, nor an assignment of that id", file=sys.stderr)
        return 2
    problems, _ = lint(Path(target), data_dir=args.data_dir, grade_solution=not args.no_grade)
    for problem in problems:
        print(problem.render(Path(target)))
    print(f"{target}: {len(problems)} problem(s)" if problems else f"{target}: no problems found"
          + ("" if args.no_grade else " (the solution gets every point this machine can grade)"))
    return 1 if problems else 0


def cmd_new_assignment(args) -> int:
    """Draft ``DIR/assignment.toml`` (and copy the solution to ``DIR/solution``) from a solution."""
    from pathlib import Path

    from .authoring.new_assignment import NewAssignmentError, new_assignment, summary

    try:
        written = new_assignment(Path(args.folder), Path(args.solution), args.id, force=args.force)
    except NewAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    print(summary(written))
    return 0


def assignment_argument(text: str) -> str:
    """An assignment as given on the command line: an id, the path of an ``assignment.toml``, or the folder
    holding one (an assignment kept outside the project)."""
    from pathlib import Path

    folder = Path(text)
    return str(folder / "assignment.toml") if folder.is_dir() and (folder / "assignment.toml").is_file() else text


def cmd_starter(args) -> int:
    from .grading.registry import load_assignment
    from .starter import stale_starters, write_starters

    assignment = load_assignment(args.id)
    if args.check:
        stale = stale_starters(assignment)
        for path in stale:
            print(f"out of date: {path} (run: autograder starter {args.id})")
        return 1 if stale else 0
    for path in write_starters(assignment):
        print(f"wrote {path}")
    return 0


def cmd_student_kit(args) -> int:
    from .student_kit.writer import write_kit

    print(write_kit(args.id, args.out).describe())
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, not {text!r}")
    return int(text)


def _grade_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assignment", metavar="ID", help="assignment id (default: recognised from the files)")
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU if present), cpu or cuda")
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="only the checks matching this pytest -k expression")
    _add_data_dir(parser)


def cmd_grade(args) -> int:
    from .batch.command import grade_paths
    from .batch.options import BatchOptions, GradingOptions, ReportOptions

    return grade_paths(BatchOptions(
        paths=tuple(args.paths), jobs=args.jobs, force=args.force, executor=args.executor, address=args.address,
        grading=GradingOptions(assignment=args.assignment, data_dir=args.data_dir, device=args.device,
                               keyword=args.keyword),
        reports=ReportOptions(out=args.out, junit=args.junit, results=args.results, html=args.html,
                              profile=args.profile, canvas=args.canvas, similarity=not args.no_similarity)))


def cmd_examples(args) -> int:
    from .batch.command import grade_examples
    from .batch.options import ExamplesOptions

    return grade_examples(ExamplesOptions(root=args.root, families=tuple(args.family or ()), data_dir=args.data_dir,
                                          device=args.device, jobs=args.jobs, out=args.out, junit=args.junit))


def cmd_check(args) -> int:
    from .batch.command import announcing, warn_missing_protection
    from .grading.registry import load_assignment
    from .grading.runner import grade
    from .report.terminal import render_check_summary, render_submission
    from .spec import available_assignments
    from .student_kit.check import find_kit, instructor_points, using_kit

    kit = find_kit(args.path, args.kit)
    with using_kit(kit):  # a student kit, when there is one, instead of the answer key
        if not available_assignments() and not (args.assignment or "").endswith(".toml"):
            print("autograder check: no answer key is installed here and no student kit was found: pass --kit DIR "
                  "(the kit your instructor handed out), or put it beside your folder as kit/", file=sys.stderr)
            return 2
        warn_missing_protection(args.device)
        with announcing():
            result = grade(args.path, assignment_id=args.assignment, data_dir=args.data_dir, device=args.device,
                           public_only=True, keyword=args.keyword)
        if kit is not None:
            result.notes.append(f"checked with the student kit in {kit}: its public checks only")
        print(render_submission(result))
        if not result.error:
            assignment = load_assignment(args.assignment or result.assignment)
            print(render_check_summary(result, instructor_points(assignment, result.manual_points)), end="")
    # a student's CI or pre-commit hook stops on a failed check (one this machine could not grade is no failure)
    return 1 if result.error or result.failed() else 0


def cmd_export(args) -> int:
    from pathlib import Path

    from .batch.find import expand
    from .export import export_submission
    from .grading.registry import load_assignment
    from .grading.session import recognise_assignment
    from .submission import SubmissionError, open_submission

    status = 0
    for path in expand(args.paths):
        try:
            assignment_id = args.assignment
            if assignment_id is None:
                import tempfile

                with tempfile.TemporaryDirectory() as scratch:
                    assignment_id = recognise_assignment(open_submission(path, Path(scratch)))
            result = export_submission(path, load_assignment(assignment_id), Path(args.out), pdf=not args.no_pdf)
        except SubmissionError as error:
            print(f"{path.name}: not exported: {error}")
            status = 1
            continue
        print(f"{result.submission}: {result.html}{' and ' + str(result.pdf) if result.pdf else ''} ({result.note})")
    return status


def cmd_make_weights(args) -> int:
    from .grading.weights_tool import make_weights

    make_weights(args.path, assignment_id=args.assignment, data_dir=args.data_dir, device=args.device,
                 models=args.model, untrained=args.untrained)
    return 0


def cmd_gradescope(args) -> int:
    from .packaging.gradescope import PackagingError, build_autograder_zip

    try:
        print(build_autograder_zip(args.id, args.out, data_dir=args.data_dir).describe())
    except PackagingError as error:
        print(f"autograder gradescope: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_similarity(args) -> int:
    from pathlib import Path

    from .batch.find import expand
    from .similarity.batch import compare_batch
    from .similarity.html import render_html
    from .similarity.terminal import render_terminal

    paths = expand([args.folder])
    if len(paths) < 2:
        print(f"autograder similarity: {args.folder} holds {len(paths)} submission(s); give a folder of "
              "several (one per subfolder or zip)", file=sys.stderr)
        return 2
    report = compare_batch(paths, args.assignment, [Path(p) for p in args.starter or []])
    print(render_terminal(report))
    Path(args.out).write_text(render_html(report), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Grade deep-learning coursework.")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="list data sets, or prepare a torchvision-layout copy")
    data.add_argument("action", nargs="?", choices=("list", "prepare"), default="list")
    data.add_argument("root", nargs="?", help="for 'prepare': the folder to write ROOT/MNIST/raw/... into")
    data.add_argument("--strict", action="store_true", help="exit 1 if a data set is missing")
    _add_data_dir(data)
    data.set_defaults(run=cmd_data)

    grade = commands.add_parser("grade", help="grade one submission, or a folder of many")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="a submission (folder or .zip), or a folder holding one per subfolder or zip")
    grade.add_argument("--results", metavar="FILE", help="one submission: write Gradescope's results.json here")
    grade.add_argument("--profile", action="store_true", help="one submission: where each second went (wall, the "
                       "worker's CPU, the grader's CPU) per stage, call and check")
    grade.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    grade.add_argument("--html", metavar="FILE", help="one submission: write its feedback page (HTML with figures) "
                                                      "here, e.g. --html feedback.html (with --out: one per "
                                                      "submission there)")
    grade.add_argument("--out", metavar="DIR", help="many submissions: write gradebook.csv and one results "
                                                    "file per submission here (default: ./autograder-results)")
    grade.add_argument("--canvas", action="store_true", help="with -k or --public-only: write the Canvas gradebook "
                                                              "too (a partial run has none by default)")
    grade.add_argument("--jobs", "-j", type=_positive, metavar="N",
                       help="submissions graded at once, each in its own worker with its share of the cores "
                            "(default: what the machine holds)")
    grade.add_argument("--no-similarity", action="store_true",
                       help="many submissions: leave out the similarity section (similarity.html in --out)")
    grade.add_argument("--force", action="store_true",
                       help="grade again the submissions whose results are already in --out")
    grade.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="local: this machine; ray: one Ray task per submission (pip install 'autograder[ray]')")
    grade.add_argument("--address", metavar="ADDR", help="with --executor ray: the cluster to join "
                                                         "(default: start a local Ray)")
    _grade_options(grade)
    grade.set_defaults(run=cmd_grade)

    examples = commands.add_parser("examples", help="grade the bundled example submissions of every assignment "
                                                     "against the grades their expected.toml gives")
    examples.add_argument("root", nargs="?", default="submissions", metavar="ROOT",
                          help="the folder of example families (default: ./submissions)")
    examples.add_argument("--family", action="append", metavar="NAME", help="only this family (repeatable)")
    examples.add_argument("--out", metavar="DIR", help="write gradebook.csv here")
    examples.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    examples.add_argument("--device", default="auto", help="auto (a CUDA GPU if present), cpu or cuda")
    examples.add_argument("--jobs", "-j", type=_positive, metavar="N",
                          help="examples graded at once (default: what the machine holds)")
    _add_data_dir(examples)
    examples.set_defaults(run=cmd_examples)

    check = commands.add_parser("check", help="check your own work before you submit (public checks only)")
    check.add_argument("path", nargs="?", default=".", help="your folder (default: the current one)")
    check.add_argument("--kit", metavar="DIR", help="grade with this student kit (written by `autograder "
                                                    "student-kit`), not the answer key (default: $AUTOGRADER_KIT, "
                                                    "else a kit/ folder in or beside your folder)")
    _grade_options(check)
    check.set_defaults(run=cmd_check)

    export = commands.add_parser("export", help="written answers next to the problems, as HTML and PDF, "
                                                "for human graders")
    export.add_argument("paths", nargs="+", metavar="PATH", help="a submission, or a folder of many")
    export.add_argument("--out", default="autograder-export", metavar="DIR", help="where to write (default: "
                                                                                  "./autograder-export)")
    export.add_argument("--assignment", metavar="ID", help="assignment id (default: recognised from the files)")
    export.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    export.set_defaults(run=cmd_export)

    weights = commands.add_parser("make-weights", help="train a submission's classes and save their weights "
                                                       "(for building example submissions)")
    weights.add_argument("path", metavar="PATH", help="the submission folder to write the weight files into")
    weights.add_argument("--model", action="append", help="only this model (repeatable)")
    weights.add_argument("--untrained", action="store_true", help="save freshly initialised weights instead")
    _grade_options(weights)
    weights.set_defaults(run=cmd_make_weights)

    key = commands.add_parser("answer-key", help="compute the analytic answers two ways and show them")
    key.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")
    key.set_defaults(run=cmd_answer_key)

    cal = commands.add_parser("calibrate", help="derive an assignment's thresholds (before its first grading, "
                                                "and again when a recipe changes)")
    cal.add_argument("id", metavar="PATH-or-ID", help="the assignment.toml of an assignment kept anywhere (or its "
                                                      "folder), or the id of one under reference/, e.g. cpsc663-ex2")
    cal.add_argument("--recipe", action="append", help="only this recipe (repeatable)")
    cal.add_argument("--seeds", type=int, help="number of seeds (default: the assignment's)")
    cal.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    _add_data_dir(cal)
    cal.set_defaults(run=cmd_calibrate)

    lint_parser = commands.add_parser("lint-assignment", help="find an assignment's mistakes before a student "
                                                              "meets them: keys, layers, files, the solution graded")
    lint_parser.add_argument("id", metavar="PATH-or-ID", help="an assignment.toml (or its folder), or an id")
    lint_parser.add_argument("--no-grade", action="store_true", help="do not grade the solution (seconds, not minutes)")
    _add_data_dir(lint_parser)
    lint_parser.set_defaults(run=cmd_lint_assignment)

    new = commands.add_parser("new-assignment", help="draft an assignment.toml from a solution (a folder of .py and "
                                                     "weight files, or a notebook), to edit, lint and calibrate")
    new.add_argument("folder", metavar="DIR", help="where to write assignment.toml and solution/ (a copy)")
    new.add_argument("--from", dest="solution", required=True, metavar="SOLUTION",
                     help="the solution: a folder of .py files and weight files, or a .ipynb")
    new.add_argument("--id", help="the assignment's id (default: the name of DIR)")
    new.add_argument("--force", action="store_true", help="write over an existing DIR/assignment.toml")
    new.set_defaults(run=cmd_new_assignment)

    starter = commands.add_parser("starter", help="write the student starters from the solution")
    starter.add_argument("id", metavar="ID", help="assignment id")
    starter.add_argument("--check", action="store_true", help="only report starters that are out of date")
    starter.set_defaults(run=cmd_starter)

    student_kit = commands.add_parser("student-kit", help="write an assignment's public checks for students to check "
                                                          "their work with: no thresholds, answers, hidden checks or "
                                                          "solutions")
    student_kit.add_argument("id", metavar="ID", help="assignment id, e.g. cpsc663-ex2 (or an assignment.toml)")
    student_kit.add_argument("--out", default="kit", metavar="DIR", help="where to write it: DIR/<id>/ "
                                                                         "(default: ./kit)")
    student_kit.set_defaults(run=cmd_student_kit)

    gradescope = commands.add_parser("gradescope", help="build the autograder.zip Gradescope asks for: setup.sh, "
                                                        "run_autograder, the grader and the assignment's data")
    gradescope.add_argument("id", metavar="ASSIGNMENT", help="assignment id, e.g. cpsc663-ex2")
    gradescope.add_argument("--out", default="autograder.zip", metavar="ZIP",
                            help="where to write the zip (default: ./autograder.zip)")
    _add_data_dir(gradescope)
    gradescope.set_defaults(run=cmd_gradescope)

    similarity = commands.add_parser("similarity", help="flag pairs of submissions whose code or weights are "
                                                        "suspiciously alike (changes no grade)")
    similarity.add_argument("folder", metavar="FOLDER", help="a folder of submissions, one per subfolder or zip")
    similarity.add_argument("--assignment", metavar="ID", help="assignment id (default: recognised from the files)")
    similarity.add_argument("--out", default="similarity-report.html", metavar="FILE",
                            help="the HTML report, pairs side by side (default: ./similarity-report.html)")
    similarity.add_argument("--starter", action="append", metavar="PATH",
                            help="more code the handout gave (a file or folder, e.g. its notebook), never counted "
                                 "as shared (repeatable; reference/<id>/starter/ is always used)")
    similarity.set_defaults(run=cmd_similarity)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except datasets.DataNotFound as missing:
        print(f"autograder: {missing}", file=sys.stderr)
        return 1
    except (SpecError, CalibrationError) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
