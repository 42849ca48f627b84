"""What runs in the sandbox, and only that: the worker process (``__main__``), its operations (``handlers``), the
student's files imported (``importer``) and notebooks run (``notebook_runner``, ``kernel``), subjects found and
built (``subjects``), models traced (``trace``), and the warm template a worker is forked from (``zygote``).

It imports only itself and ``autograder.common``; nothing of the trusted side imports it (the import contract
in pyproject.toml, checked by ``tox -e lint``). The grader starts it through ``autograder.host``.
"""
