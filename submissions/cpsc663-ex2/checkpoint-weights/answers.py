"""Numeric answers to Problems 3.3 and 4.1, computed here as a student would (see HANDOUT.md)."""

import numpy as np

# Problem 3.3: the network of Figure 1 (W[j, k] connects neuron k of a layer to neuron j of the next).
x = np.array([0.05, 0.1])
y = np.array([0.01, 0.99])
W2, b2 = np.array([[0.15, 0.25], [0.2, 0.3]]), np.array([0.35, 0.35])
W3, b3 = np.array([[0.4, 0.5], [-0.45, 0.55]]), np.array([0.6, 0.6])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


a2 = sigmoid(W2 @ x + b2)
a3 = sigmoid(W3 @ a2 + b3)
delta3 = a3 - y  # cross-entropy with sigmoid outputs
delta2 = (W3.T @ delta3) * a2 * (1 - a2)
dC_dW3, dC_db3 = np.outer(delta3, a2), delta3
dC_dW2, dC_db2 = np.outer(delta2, x), delta2


# Problem 4.1: a 50 x 50 input.
def output_size(n, kernel, stride, padding):
    return (n + 2 * padding - kernel) // stride + 1


output_size_a = (output_size(50, 4, 1, 1),) * 2  # conv
output_size_b = (output_size(50, 8, 5, 0),) * 2  # conv
output_size_c = (output_size(50, 10, 2, 2),) * 2  # max-pool
output_size_d = (output_size(50, 2, 1, 0),) * 2  # max-pool
