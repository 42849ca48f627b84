"""Answer key of the Keras autoencoders assignment (Problem 2 a/b/c): gradients, dense autoencoders, a sweep."""
