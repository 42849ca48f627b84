"""Numeric answers. I store weight matrices as W[k, j] (from neuron k to neuron j)."""
import torch

x = torch.tensor([0.05, 0.1], dtype=torch.float64)
y = torch.tensor([0.01, 0.99], dtype=torch.float64)
W2 = torch.tensor([[0.15, 0.2], [0.25, 0.3]], dtype=torch.float64, requires_grad=True)
b2 = torch.tensor([0.35, 0.35], dtype=torch.float64, requires_grad=True)
W3 = torch.tensor([[0.4, -0.45], [0.5, 0.55]], dtype=torch.float64, requires_grad=True)
b3 = torch.tensor([0.6, 0.6], dtype=torch.float64, requires_grad=True)

z2 = x @ W2 + b2
z2.retain_grad()
z3 = torch.sigmoid(z2) @ W3 + b3
z3.retain_grad()
cost = torch.nn.functional.binary_cross_entropy(torch.sigmoid(z3), y, reduction="sum")
cost.backward()

delta3 = z3.grad
delta2 = z2.grad
dC_dW3 = W3.grad
dC_db3 = b3.grad
dC_dW2 = W2.grad
dC_db2 = b2.grad

output_size_a = [49, 49]
output_size_b = [9, 9]
output_size_c = [23, 23]
output_size_d = [49, 49]
