"""Answer key of Machine Learning Essentials SS25, Exercise Sheet 6: a CNN classifier, convolutional and linear
autoencoders, and the written Exercise 1."""
