# Problem 5.4 autoencoder -- image input, custom encoder/decoder modules
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from tqdm import tqdm
from layers import Reshape

device = torch.device("cuda")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.layers = nn.ModuleList([nn.Linear(784, 256), nn.Linear(256, 64), nn.Linear(64, 16), nn.Linear(16, 2)])

    def forward(self, x):
        x = self.flat(x)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 16), nn.Linear(16, 64), nn.Linear(64, 256), nn.Linear(256, 784)])
        self.out = Reshape(1, 28, 28)

    def forward(self, z):
        for i, layer in enumerate(self.layers):
            z = layer(z)
            z = torch.relu(z) if i < len(self.layers) - 1 else torch.sigmoid(z)
        return self.out(z)


class AE(nn.Module):
    def __init__(self):
        super(AE, self).__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AE().to(device)
for _ in tqdm(range(3)):
    pass
plt.plot([1, 2, 3])
plt.show()
