"""Student self-check kits: an assignment's public checks, without the answer key, graded by the same engine.

``autograder student-kit ID --out kit/`` writes one (``writer.py``, keeping what
``public.py`` says); ``autograder check --kit kit/`` grades from it, as does
``$AUTOGRADER_KIT`` or a ``kit/`` folder in or beside the student's folder
(``check.py``). Models the answer key trains to a calibrated bar get a smoke
test instead (``smoke.py``).

Import from the modules themselves: importing this package loads none of them
(the engine's registry imports ``smoke`` alone).
"""
