"""Reference models of the synthetic assignment: small, so that grading them takes seconds on a CPU."""

import torch
from torch import nn


class TinyAE(nn.Module):
    """A convolutional autoencoder for 3-channel 16x16 images with a code of ``code`` values."""

    def __init__(self, code=4):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 8 * 8, code))
        self.decoder = nn.Sequential(
            nn.Linear(code, 8 * 8 * 8), nn.ReLU(), nn.Unflatten(1, (8, 8, 8)), nn.Upsample(scale_factor=2),
            nn.Conv2d(8, 3, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class WideAE(nn.Module):
    """A dense autoencoder of flattened images with a wide code (``code`` values)."""

    def __init__(self, code=64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(768, 128), nn.ReLU(), nn.Linear(128, code))
        self.decoder = nn.Sequential(nn.Linear(code, 128), nn.ReLU(), nn.Linear(128, 768), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class SkipAE(WideAE):
    """The same, with a skip connection around the code."""

    def __init__(self, code=64):
        super().__init__(code)
        self.skip = nn.Linear(768, 768)

    def forward(self, x):
        return self.decoder(self.encoder(x)) + 0.1 * self.skip(x)


class AnomalyAE(nn.Module):
    """A linear autoencoder, trained on one class to detect the others."""

    def __init__(self, code=16):
        super().__init__()
        self.encoder = nn.Linear(768, code)
        self.decoder = nn.Linear(code, 768)

    def forward(self, x):
        return self.decoder(self.encoder(x))


if __name__ == "__main__":
    print(sum(p.numel() for p in TinyAE().parameters()), torch.__version__)
