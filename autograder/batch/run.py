"""Grade many submissions, several at a time, each in its own sandboxed worker; keep each result as it comes."""

from __future__ import annotations

import concurrent.futures
import os
import queue
import sys
from pathlib import Path

from tqdm import tqdm

from ..common.protocol import safe_text
from ..devices import choose_device
from ..grading import resources
from ..grading.runner import grade_safely
from ..host.warm import WarmWorkers
from ..results import SubmissionResult, submission_name
from .records import ResultStore, fingerprint

WARM_ENV = "AUTOGRADER_WARM"  # "0": every worker starts cold (no warm templates)


def grade_many(submissions: list[Path], *, jobs: int = 1, out=None, force: bool = False, progress: bool = False,
               executor: str = "local", address: str | None = None, per_submission: dict | None = None,
               kept: list | None = None, **options) -> list[SubmissionResult]:
    """Grade every submission, ``jobs`` at a time, each in its own sandboxed worker with its share of the machine;
    one that cannot be graded, hangs, crashes or attacks never stops the batch.

    With ``out``, each result is written there as soon as it is graded, and one already graded from the same
    files with the same options is read back instead of graded again (unless ``force``). ``per_submission`` gives
    options of single submissions (path -> {"assignment_id": ...}); ``kept`` receives the submissions read back.
    """
    per_submission = per_submission or {}
    store = ResultStore(out) if out is not None else None
    stamps = {path: fingerprint(path, {**options, **per_submission.get(path, {})})
              for path in submissions} if store else {}
    results: dict[Path, SubmissionResult] = {}
    if store and not force:
        for path in submissions:
            if (earlier := store.load(submission_name(path), stamps[path])) is not None:
                results[path] = earlier
    todo = [path for path in submissions if path not in results]
    if kept is not None:
        kept.extend(results)
    bar = tqdm(total=len(submissions), initial=len(results), unit="submission", disable=not progress or None,
               file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    lines = progress and bar.disable  # no terminal (a CI log, a file): a line per submission instead of a bar
    if lines:
        print(f"autograder: grading {len(todo)} submission(s), {jobs} at a time"
              + (f" ({len(results)} already graded)" if results else ""), file=sys.stderr, flush=True)
    with bar:
        for path, result in _run(todo, jobs, executor, address, options, per_submission):
            if lines:
                done = len(results) + 1
                score = f"{result.score:g}/{result.max_score:g}" if not result.error else "not graded"
                print(f"autograder: [{done}/{len(submissions)}] {result.submission}: {score} ({result.seconds:.0f} s)",
                      file=sys.stderr, flush=True)
            if store:
                for failure in store.save(result, stamps[path]):
                    result.staff_log.append(failure)
                    print(f"autograder: {safe_text(failure)}", file=sys.stderr)
            results[path] = result
            bar.set_postfix_str(submission_name(path)[:30], refresh=False)
            bar.update()
    return [results[path] for path in submissions]


def _run(todo: list[Path], jobs: int, executor: str, address: str | None, options: dict, per_submission: dict):
    """(path, result) pairs as they finish."""
    if executor == "ray":
        from .ray_executor import grade_on_ray

        yield from grade_on_ray(todo, jobs=jobs, address=address, options=options, per_submission=per_submission)
        return
    device = str(choose_device(options.get("device", "auto")))
    share = resources.share(min(jobs, max(1, len(todo))), device)
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for slot in range(share.jobs):
        slots.put(slot)

    # Several submissions: each slot's workers are forked from a warm template (where the sandbox allows it).
    warm = WarmWorkers() if len(todo) > 1 and os.environ.get(WARM_ENV, "1") != "0" else None

    def one(path: Path) -> SubmissionResult:
        slot = slots.get()
        try:
            return grade_safely(path, share=share.for_slot(slot), warm=warm,
                                **{**options, **per_submission.get(path, {})})
        finally:
            slots.put(slot)

    try:
        if share.jobs == 1:
            for path in todo:
                yield path, one(path)
            return
        with concurrent.futures.ThreadPoolExecutor(share.jobs, thread_name_prefix="autograder-job") as pool:
            futures = {pool.submit(one, path): path for path in todo}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
    finally:
        if warm is not None:
            warm.close()
