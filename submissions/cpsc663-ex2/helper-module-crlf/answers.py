import torch
import numpy as np
delta3 = torch.tensor([[0.74693192, -0.33064048]])
delta2 = np.array([0.10789545, 0.04612710]).reshape(2, 1)
dC_dW3 = [[0.444033, 0.445383], [-0.196558, -0.197155]]
dC_db3 = np.array([[0.74693192], [-0.33064048]])
dC_dW2 = torch.tensor([[0.00539477, 0.01078955], [0.00230635, 0.00461271]], dtype=torch.float64)
dC_db2 = (0.10789545, 0.04612710)
output_size_a = [49, 49]
output_size_b = np.array([9, 9])
output_size_c = (np.int64(23), np.int64(23))
output_size_d = torch.tensor([49, 49])
