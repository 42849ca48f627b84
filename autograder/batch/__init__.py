"""Grading a class: finding the submissions in folders and zips, running the one-submission engine
(``autograder.grading``) on each, locally or on Ray, keeping each result as it comes, and writing what the batch
produced (the table, the gradebooks, the feedback pages, JUnit, the similarity and class pages).

It takes a plain options object (``options.BatchOptions``), never the command line's namespace: the CLI builds
one, a test or a script can too.
"""
