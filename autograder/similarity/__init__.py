"""Which submissions of a batch are suspiciously alike: ``autograder similarity FOLDER``.

* ``collect``: a submission's code (``.py`` files, notebooks' code cells read as JSON, never run);
* ``code``: code similarity with copydetect, the starter code and the batch's common code removed;
* ``weights``: submitted weight files read with ``weights_only=True``, compared by cosine;
* ``structure``: the same unusual tensor names and shapes;
* ``batch``: every pair compared, into a ``SimilarityReport``;
* ``terminal``, ``html``: the report rendered; ``thresholds``: when a pair is flagged, and why.

It flags pairs for a person to look at; it never changes a grade.
"""
