"""An autograder for deep-learning coursework.

Keras 3 runs on the PyTorch backend here (there is no TensorFlow): the answer key's Keras models, and the
worker's, are built with ``KERAS_BACKEND=torch`` unless the environment chose otherwise.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
