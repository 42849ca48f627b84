import numpy as np

# Problem 3.3 -- column vectors, as in my notebook
x = np.array([[0.05], [0.1]])
y = np.array([[0.01], [0.99]])
W2 = np.array([[0.15, 0.25], [0.2, 0.3]])
b2 = np.array([[0.35], [0.35]])
W3 = np.array([[0.4, 0.5], [-0.45, 0.55]])
b3 = np.array([[0.6], [0.6]])

z2 = np.dot(W2, x) + b2
a2 = 1 / (1 + np.exp(-z2))
z3 = np.dot(W3, a2) + b3
a3 = 1 / (1 + np.exp(-z3))

delta3 = -(y * (1 - a3) - a3 * (1 - y))
delta2 = np.dot(W3.T, delta3) * a2 * (1 - a2)
dC_dW3 = np.dot(delta3, a2.T)
dC_db3 = delta3
dC_dW2 = np.dot(delta2, x.T)
dC_db2 = delta2

# Problem 4.1
output_size_a = (49, 49)
output_size_b = (9, 9)
output_size_c = (23, 23)
output_size_d = (49, 49)
