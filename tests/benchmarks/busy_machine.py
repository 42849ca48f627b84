"""The same grades on a busy machine: each family graded alone, then beside busy processes, compared.

    python tests/benchmarks/busy_machine.py [--family cpsc663-ex2 ...] [--count 12] [--data-dir DIR]
        [--json FILE]

Not run in CI (it grades every family twice over, beside a loaded machine).
For each family: one cold grading of its answer key and a batch of ``--count``
copies of its examples (correct and broken) at the default ``--jobs``, first
alone, then beside two busy loops (``while True: pass``) and two torch
trainings with torch's default threads. Prints, per run, the wall time, the CPU
time of the grader and everything it started, the batch's seconds per
submission against the cold grading's (the aim: 0.35 or less on two idle
cores), and for the loaded runs the slowdown against the fair-share slowdown
(the CPU the grading needed, at the share of the cores its threads get among
the others'). Exits 1 when any grade differs between the two runs, or from the expected grade of the example a
submission copies (correct ones at full marks), naming it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from autograder.batch.run import grade_many  # noqa: E402
from autograder.grading import resources  # noqa: E402
from autograder.grading.examples import differences, families  # noqa: E402
from autograder.grading.runner import WHOLE  # noqa: E402
from tests.benchmarks.batch_throughput import make_class  # noqa: E402

BUSY_LOOP = "while True: pass"
BUSY_TORCH = """
import torch
model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 1, 3, padding=1))
opt = torch.optim.Adam(model.parameters())
x = torch.rand(128, 1, 28, 28)
while True:
    opt.zero_grad(); torch.nn.functional.mse_loss(model(x), x).backward(); opt.step()
"""
OTHER_THREADS = 2 + 2 * resources.available_cores()  # two loops, two trainings at one thread per core each


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _grades(results) -> dict:
    return {r.submission: (r.score, sorted(c.check_id for c in r.failed()), sorted(
        c.check_id for c in r.not_gradable()), r.error) for r in results}


def _measure(paths: list[Path], data_dir, jobs: int, family, examples: list[str]) -> dict:
    wall, cpu = time.monotonic(), _cpu()
    results = grade_many(paths, jobs=jobs, device="cpu", data_dir=data_dir)
    wrong = [f"{r.submission}: " + "; ".join(problems) for r, example in zip(results, examples, strict=True)
             if (problems := differences(r, family, family.examples[example]["fails"]))]
    # the grader's own CPU and its children's, and the workers' as each submission's profile totals it (a worker
    # forked from a warm template, or killed in its sandbox, is no child of ours whose time getrusage sees)
    workers = sum(r.profile.get(WHOLE, {}).get("worker_cpu", 0.0) for r in results)
    wall, cpu = time.monotonic() - wall, _cpu() - cpu + workers
    return {"wall": round(wall, 1), "cpu": round(cpu, 1), "per_submission": round(wall / len(paths), 2),
            "grades": _grades(results),
            "workers": sorted({json.dumps(r.worker, sort_keys=True) for r in results}), "not_expected": wrong}


class Load:
    """Two busy loops and two torch trainings with default threads, while in the ``with``."""

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}
        self.processes = [subprocess.Popen([sys.executable, "-c", code], env=env)
                          for code in (BUSY_LOOP, BUSY_LOOP, BUSY_TORCH, BUSY_TORCH)]
        time.sleep(5)  # the trainings import torch and start
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()
        return False


def run_family(name: str, count: int, data_dir) -> dict:
    family = next(f for f in families(ROOT / "submissions") if f.folder.name == name)
    jobs = resources.default_jobs("cpu")
    with tempfile.TemporaryDirectory() as scratch:
        made, examples = zip(*make_class(Path(scratch), count, name), strict=True)
        runs = {"cold": ([family.folder / "answer-key"], ["answer-key"]), "batch": (list(made), list(examples))}
        figures = {"family": name, "count": count, "jobs": jobs}
        for state in ("alone", "loaded"):
            with Load() if state == "loaded" else contextlib.nullcontext():
                batch_jobs = resources.default_jobs("cpu")  # sized to the load, as the CLI sizes it
                figures[state] = {run: _measure(paths, data_dir, 1 if run == "cold" else batch_jobs, family, names)
                                  for run, (paths, names) in runs.items()}
    differ = [f"{name} {state} {run}: not the example's expected grade: {wrong}" for state in ("alone", "loaded")
              for run in ("cold", "batch") for wrong in figures[state][run]["not_expected"]]
    for run in ("cold", "batch"):
        alone, loaded = figures["alone"][run]["grades"], figures["loaded"][run]["grades"]
        differ += [f"{name} {run} {s}: alone {alone[s]}, loaded {loaded.get(s)}"
                   for s in alone if alone[s] != loaded.get(s)]
    figures["differ"] = differ
    return figures


def _fair(alone: dict, loaded: dict) -> float:
    """The slowdown a fair share of the cores explains: the CPU the run needed, at the share its threads get."""
    cores = resources.available_cores()
    threads = max((json.loads(w).get("threads", 1) for w in loaded["workers"]), default=1)
    jobs = max(1, round(loaded["cpu"] / max(loaded["wall"], 1e-9)))  # busy threads of ours, on average
    ours = max(threads, jobs)
    rate = cores * ours / (ours + OTHER_THREADS)  # cores' worth of CPU our threads get among the others'
    return (alone["cpu"] / rate) / max(alone["wall"], 1e-9)


def report(figures: dict) -> str:
    lines = [f"{figures['family']}: {figures['count']} submissions, --jobs {figures['jobs']}"]
    for state in ("alone", "loaded"):
        cold, batch = figures[state]["cold"], figures[state]["batch"]
        lines.append(f"  {state:6}  cold {cold['wall']:7.1f} s wall {cold['cpu']:7.1f} s CPU   batch "
                     f"{batch['per_submission']:6.2f} s/submission ({batch['wall']:.0f} s wall, {batch['cpu']:.0f} s "
                     f"CPU)  batch/cold {batch['per_submission'] / cold['wall']:.2f}  workers {batch['workers']}")
    for run in ("cold", "batch"):
        alone, loaded = figures["alone"][run], figures["loaded"][run]
        slowdown, fair = loaded["wall"] / max(alone["wall"], 1e-9), _fair(alone, loaded)
        lines.append(f"  {run}: loaded/alone {slowdown:.2f}x, fair share {fair:.2f}x, ratio {slowdown / fair:.2f}")
    lines += [f"  DIFFERENT GRADE: {d}" for d in figures["differ"]] or [
        "  grades identical alone and loaded, each the expected grade of the example it copies"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", help="a folder of submissions/ (default: every family)")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--data-dir")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    names = args.family or [f.folder.name for f in families(ROOT / "submissions")]
    every = []
    for name in names:
        figures = run_family(name, args.count, args.data_dir)
        print(report(figures), flush=True)
        every.append(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=1))
    return 1 if any(f["differ"] for f in every) else 0


if __name__ == "__main__":
    raise SystemExit(main())
