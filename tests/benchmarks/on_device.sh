#!/bin/sh
# The GPU checks of a lent machine, as one run (the device tool: command `sh tests/benchmarks/on_device.sh`,
# carry [".device"], timeout ~540 s). Build .device first with scripts/device-kit.sh. Figures go to $OUT.
#   1. the machine, torch and the sandbox the grader finds;
#   2. one submission at a time with warm workers, 8 submissions: seconds each (aim: under 3 s);
#   3. a class of 64 at 8 and 4 at a time: submissions a minute (aim: 100 or more).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/wheels/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 KERAS_BACKEND=torch
if ! command -v bwrap >/dev/null 2>&1 && ls .device/debs/*.deb >/dev/null 2>&1; then
    for deb in .device/debs/*.deb; do dpkg -x "$deb" /tmp/bwrap-root; done
    export PATH=/tmp/bwrap-root/usr/bin:$PATH
fi
{
    nvidia-smi -L
    nproc
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    python3 -c "from autograder.sandbox import bwrap_path; print('bwrap', bwrap_path())"
} 2>&1 | tee "$OUT/machine.txt"
data=.device/data
timeout 200 python3 tests/benchmarks/batch_throughput.py --count 8 --jobs 1 --device cuda --data-dir $data \
    --json "$OUT/one-at-a-time.json" 2>&1 | tail -20 | tee "$OUT/one-at-a-time.log"
timeout 300 python3 tests/benchmarks/batch_throughput.py --count 64 --jobs 8 4 --device cuda --data-dir $data \
    --json "$OUT/class-of-64.json" 2>&1 | tail -20 | tee "$OUT/class-of-64.log"
