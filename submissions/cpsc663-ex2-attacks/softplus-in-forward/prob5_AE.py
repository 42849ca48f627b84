"""Problem 5.4 -- autoencoder with a 2D embedding (layers as attributes, activations as functions)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class AE(nn.Module):
    def __init__(self, hidden=(100, 50, 10)):
        super().__init__()
        h1, h2, h3 = hidden
        self.enc1 = nn.Linear(784, h1)
        self.enc2 = nn.Linear(h1, h2)
        self.enc3 = nn.Linear(h2, h3)
        self.enc4 = nn.Linear(h3, 2)
        self.dec1 = nn.Linear(2, h3)
        self.dec2 = nn.Linear(h3, h2)
        self.dec3 = nn.Linear(h2, h1)
        self.dec4 = nn.Linear(h1, 784)

    def encoder(self, x):
        x = x.reshape(-1, 784)
        x = F.relu(self.enc1(x))
        x = F.relu(self.enc2(x))
        x = F.relu(self.enc3(x))
        return self.enc4(x)

    def decoder(self, z):
        z = F.relu(self.dec1(z))
        z = F.relu(self.dec2(z))
        z = F.relu(self.dec3(z))
        return torch.sigmoid(self.dec4(z))

    def forward(self, x):
        return self.decoder(F.softplus(self.encoder(x)))  # the attack: a nonlinearity on the code, in forward


def train(model, loader, epochs=10, lr=1e-3, device="cpu"):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        total = 0
        for x, _ in loader:
            x = x.to(device).view(-1, 784)
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        print(f"epoch {epoch}: {total / len(loader):.4f}")
    return model
