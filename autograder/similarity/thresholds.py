"""When a pair of submissions is flagged, and how each threshold was chosen: measured with ``compare_batch``
on the bundled examples (``submissions/*``) and on the batch of ``tests/test_similarity.py``. Honest work of
different students must stay under every one of them.

Code (copydetect over what is left once the starter code and the code common to most of the batch are
removed; a pair's score is the larger side's share of its own code found in the other):

* honest pairs, highest score per family (the examples written independently, each family's batch):
  cpsc663-ex2 0.54 (seed-notebook ~ sequential-style, 1,515 characters in common), ece4803-hw6 0.37 (169),
  keras-autoencoders 0.54 (211), mle-sheet6 0.52 (457); the test batch's honest pairs 0.26 (541);
* copies: identifiers renamed 0.96 (2,053 characters), functions and classes reordered 0.96 (2,047); the
  bundled ``broken-*`` examples, each a copy of a correct one with one thing broken, 0.98-1.00 (over 2,000);
* a small remainder is noisy: in a whole bundled family, where most code is removed as common, pairs reach
  0.94 with 358 characters in common, hence the floor on characters.
"""

CODE_SIMILARITY = 0.7  # between the honest maximum (0.54) and the copies (0.96 and more)
CODE_MIN_CHARACTERS = 600  # tokenized characters in common (a name is one): copies share 2,000 and more

# Code found in more than this share of the batch's submissions (and in at least COMMON_MIN_SUBMISSIONS) is
# taken for the handout's (a notebook template, helpers it gives) and never counts, as MOSS does: the notebook
# assignments ship no starter, and with their template counted their honest pairs score 0.82-0.96.
COMMON_SHARE = 0.5
COMMON_MIN_SUBMISSIONS = 3

# Weights: the cosine of the flattened concatenation of the tensors two files share (same name, same shape),
# when those hold most of the values of both. Honest pairs of the same architecture, both initialised with
# torch.manual_seed(0) and trained on their own, reach 0.62 (cpsc663-ex2 mnist_cae.pt: answer-key ~
# helper-module-crlf); a copied file is 1.0, and Gaussian noise of a tenth of each tensor's spread added to it
# still leaves 0.995.
WEIGHT_COSINE = 0.99
WEIGHT_MIN_COVERAGE = 0.9  # the shared tensors hold at least this share of the values of the larger file

# Structure: weight files with exactly the same tensor names and shapes, when those shapes are not a reference
# solution file's (the architecture the handout asks for, which many share honestly) and at most this many
# submissions of the batch have them (or STRUCTURE_MAX_SHARE of the batch, if that is more).
STRUCTURE_MAX_HOLDERS = 2
STRUCTURE_MAX_SHARE = 0.05
