"""What instructors upload: ``autograder gradescope ASSIGNMENT`` builds the autograder.zip Gradescope asks for
(``gradescope.py``); Gradescope then runs ``setup.sh`` once and ``run_autograder`` per submission, which call
``run.py``."""
