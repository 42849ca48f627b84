#!/bin/sh
# Gather, into .device/ (ignored by git), what a lent GPU machine lacks to run the grader from source:
# wheels for Python 3.12 of the packages its image does not hold (Jupyter's machinery, Keras, mlxtend...),
# bubblewrap's .deb, and the MNIST and Fashion-MNIST files of ../shared/data (which does not travel).
# Then run tests/benchmarks/on_device.sh there with `.device` carried. Needs pip and apt-get here.
set -eu
cd "$(dirname "$0")/.."
kit=.device
rm -rf "$kit" && mkdir -p "$kit/wheels" "$kit/debs" "$kit/data"
# The grader's dependencies that the machine's image lacks (its package list: ../.library/device/KINDS.md),
# at the versions of constraints.txt.
for name in asttokens beautifulsoup4 bleach comm copydetect debugpy defusedxml executing fastjsonschema \
        ipykernel ipython ipython-pygments-lexers ipywidgets jedi jsonschema jsonschema-specifications \
        jupyter-client jupyter-core jupyterlab-pygments jupyterlab-widgets keras matplotlib-inline mistune \
        mlxtend namex nbclient nbconvert nbformat nest-asyncio2 optree pandocfilters parso pexpect \
        platformdirs prompt-toolkit ptyprocess pure-eval pyzmq referencing rpds-py soupsieve stack-data \
        torchsummary tornado traitlets wcwidth webencodings widgetsnbextension; do
    pin=$(grep -i "^$name==" constraints.txt || true)
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$kit/wheels" "${pin:-$name}"
done
(cd "$kit/debs" && apt-get download bubblewrap >/dev/null 2>&1) || echo "device-kit: no bubblewrap .deb" >&2
for set in mnist fashion-mnist; do
    [ -d ../shared/data/$set ] && cp -r ../shared/data/$set "$kit/data/"
done
du -sh "$kit"
