import torch
from torch import nn
from torch.nn import functional as F
from layers import Reshape


class CAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(392, 20), nn.ReLU(True), nn.Linear(20, 2))
        self.decoder = nn.Sequential(
            nn.Linear(2, 20), nn.ReLU(True), nn.Linear(20, 392), nn.ReLU(True), Reshape(8, 7, 7),
            nn.UpsamplingNearest2d(scale_factor=2), nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(True),
            nn.UpsamplingNearest2d(scale_factor=2), nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class CAE_skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, 1, 1)
        self.c2 = nn.Conv2d(4, 8, 3, 1, 1)
        self.f1 = nn.Linear(392, 20)
        self.f2 = nn.Linear(20, 2)
        self.g1 = nn.Linear(2, 20)
        self.g2 = nn.Linear(20, 392)
        self.d1 = nn.Conv2d(8, 4, 3, padding=1)
        self.d2 = nn.Conv2d(4, 1, 3, padding=1)

    def encoder(self, x):
        p1 = F.max_pool2d(F.relu(self.c1(x)), 2)
        p2 = F.max_pool2d(F.relu(self.c2(p1)), 2)
        return self.f2(F.relu(self.f1(p2.view(-1, 392)))), p1, p2

    def decoder(self, z, p1, p2):
        h = F.relu(self.g2(F.relu(self.g1(z)))).view(-1, 8, 7, 7)
        h = F.relu(self.d1(F.interpolate(h + p2, scale_factor=2)))
        return torch.sigmoid(self.d2(F.interpolate(h + p1, scale_factor=2)))

    def forward(self, x):
        z, p1, p2 = self.encoder(x)
        return self.decoder(z, p1, p2)
