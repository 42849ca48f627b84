"""The trusted process management: starting, confining, watching and stopping the sandboxed workers
(``sandbox``, ``cgroups``), talking to them (``client``), their warm templates (``warm``). Runs in the grader,
never in a worker."""
