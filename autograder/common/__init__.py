"""Code both sides run: the grader and the sandboxed worker (the wire protocol, layers and operations,
probes, the training loop, state dicts, process accounting, IPC cleanup, folders). Imports nothing of either
side."""
