"""`autograder export`: the written answers of each submission, for human graders.

One HTML page and one PDF per submission: every written problem of the answer
key (its text from ``written.toml``) next to the student's answer, found in
their notebook under a heading or opening words naming the problem, with the
outputs the notebook holds (text and plots). Nothing of the submission is
executed here, and the page carries no script: markdown and outputs are
sanitised, and images are kept only as inline ``data:`` images. The PDF is
printed by headless Chromium (Debian's ``chromium``) when it is installed.
"""

from __future__ import annotations

import base64
import html
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .notebooks import NotebookProblem, find_notebook, problem_sections, validate
from .report.html import CSP_META
from .spec import Assignment

ALLOWED_TAGS = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5",
                "h6", "br", "hr", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "span", "sub", "sup"}
STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 52em; margin: 2em auto; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-top: 2px solid #444; padding-top: .6em; margin-top: 2em; }
.question { background: #f3f3f3; padding: .6em 1em; white-space: pre-wrap; }
.answer { border-left: 4px solid #4a7; padding-left: 1em; }
.missing { color: #a33; font-style: italic; }
pre { background: #fafafa; border: 1px solid #ddd; padding: .5em; white-space: pre-wrap; font-size: .85em; }
img { max-width: 100%; }
.meta { color: #666; font-size: .9em; }
"""


@dataclass(frozen=True)
class ExportResult:
    submission: str
    html: Path | None
    pdf: Path | None
    note: str  # what was found, or why something is missing


def _sanitise(fragment: str) -> str:
    import bleach

    return bleach.clean(fragment, tags=ALLOWED_TAGS, attributes={"a": ["href"], "img": ["src", "alt"]},
                        protocols=["data"], strip=True)


def _markdown(text: str) -> str:
    import mistune

    return _sanitise(mistune.html(text))


IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
IMAGE_BYTES = 16 * 1024 * 1024


def _image_bytes(payload: str, mime: str) -> bytes | None:
    """The image a notebook output holds, decoded strictly and checked to be what it says (a PNG's or JPEG's
    signature), to be encoded again by the grader: nothing of the student's text reaches the page's markup."""
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except ValueError:
        return None
    return data if data.startswith(IMAGE_MAGIC[mime]) and len(data) <= IMAGE_BYTES else None


def _outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        for mime in ("image/png", "image/jpeg"):
            if mime in data:
                payload = "".join(data[mime]) if isinstance(data[mime], list) else str(data[mime])
                image = _image_bytes(payload, mime)
                if image is None:
                    continue
                parts.append(f'<img alt="output" src="data:{mime};base64,{base64.b64encode(image).decode()}">')
                break
        else:
            text = output.get("text") or data.get("text/plain")
            if output.get("output_type") == "error":
                text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            if text:
                text = "".join(text) if isinstance(text, list) else text
                parts.append(f"<pre>{html.escape(text[:5000])}</pre>")
    return "".join(parts)


def _cell(cell) -> str:
    if cell.cell_type == "markdown":
        return _markdown(cell.source)
    if cell.cell_type == "code":
        return f"<pre>{html.escape(cell.source)}</pre>{_outputs(cell)}"
    return ""


def written_problems(assignment: Assignment) -> list[dict]:
    return tomllib.loads(assignment.paths["written"].read_text())["problems"]


def render_html(assignment: Assignment, submission_name: str, notebook, notebook_name: str | None,
                problem_note: str | None = None) -> str:
    problems = written_problems(assignment)
    sections = problem_sections(notebook, [p["id"] for p in problems]) if notebook is not None else {}
    body = [f"<h1>{html.escape(assignment.title)}</h1>",
            f"<p class='meta'>Submission: {html.escape(submission_name)}; "
            f"notebook: {html.escape(notebook_name or 'none')}</p>"]
    if problem_note:
        body.append(f"<p class='missing'>{html.escape(problem_note)}</p>")
    for problem in problems:
        body.append(f"<h2>Problem {html.escape(problem['id'])}: {html.escape(problem['title'])} "
                    f"<span class='meta'>({problem.get('points', 0)} points)</span></h2>")
        body.append(f"<div class='question'>{html.escape(problem['question'].strip())}</div>")
        section = sections.get(problem["id"])
        if section is None:
            body.append("<p class='missing'>No answer found under a heading naming this problem.</p>")
        else:
            if section.whole:
                body.append(f"<p class='meta'>The notebook's section for Problem {html.escape(section.whole)}, "
                            "which names none of its parts:</p>")
            body.append(f"<div class='answer'>{''.join(_cell(c) for c in section.cells)}</div>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{CSP_META}<title>{html.escape(submission_name)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> str | None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium; None if done, else why not."""
    browser = chromium()
    if browser is None:
        return "no PDF: Chromium is not installed (apt-get install chromium)"
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                   html_path.resolve().as_uri()]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "no PDF: Chromium did not finish"
    return None if pdf_path.is_file() and pdf_path.stat().st_size > 0 else "no PDF: Chromium wrote nothing"


def export_submission(path: Path, assignment: Assignment, out: Path, pdf: bool = True) -> ExportResult:
    from .submission import open_submission

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        submission = open_submission(path, Path(scratch))
        name = find_notebook(submission)
        notebook, problem = None, None
        if name is None:
            problem = "No notebook was submitted: the written answers are in the PDF report, if any."
        else:
            try:
                notebook = validate(submission.root / name)
            except NotebookProblem as error:
                problem = str(error)
        page = render_html(assignment, Path(path).name, notebook, name, problem)
    stem = Path(path).name.removesuffix(".zip")
    html_path = out / f"{stem}.html"
    html_path.write_text(page)
    note = problem or f"written answers from {name}"
    pdf_path = out / f"{stem}.pdf"
    why_not = print_pdf(html_path, pdf_path) if pdf else "no PDF asked for"
    return ExportResult(Path(path).name, html_path, None if why_not else pdf_path, f"{note}; {why_not or 'PDF'}")
