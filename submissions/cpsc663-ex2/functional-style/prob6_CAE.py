"""Problem 6 -- convolutional autoencoders; CAE_skip concatenates the pooled feature maps."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class CAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=1, padding=1)
        self.fc1 = nn.Linear(392, 20)
        self.fc2 = nn.Linear(20, 2)
        self.fc3 = nn.Linear(2, 20)
        self.fc4 = nn.Linear(20, 392)
        self.deconv1 = nn.Conv2d(8, 4, 5, padding=2)
        self.deconv2 = nn.Conv2d(4, 1, 5, padding=2)

    def encoder(self, x):
        x = x.view(-1, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)

    def decoder(self, z):
        x = F.relu(self.fc3(z))
        x = F.relu(self.fc4(x)).view(-1, 8, 7, 7)
        x = F.relu(self.deconv1(F.interpolate(x, scale_factor=2, mode="nearest")))
        x = self.deconv2(F.interpolate(x, scale_factor=2, mode="nearest"))
        return torch.sigmoid(x)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class CAE_skip(CAE):
    def __init__(self):
        super().__init__()
        # concatenated skips double the channels going into each decoder convolution
        self.deconv1 = nn.Conv2d(16, 4, 5, padding=2)
        self.deconv2 = nn.Conv2d(8, 1, 5, padding=2)

    def encoder(self, x):
        x = x.view(-1, 1, 28, 28)
        p1 = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        p2 = F.max_pool2d(F.relu(self.conv2(p1)), 2, 2)
        z = self.fc2(F.relu(self.fc1(torch.flatten(p2, 1))))
        return z, p2, p1

    def decoder(self, z, p2, p1):
        x = F.relu(self.fc4(F.relu(self.fc3(z)))).view(-1, 8, 7, 7)
        x = F.interpolate(torch.cat([x, p2], dim=1), scale_factor=2, mode="nearest")
        x = F.relu(self.deconv1(x))
        x = F.interpolate(torch.cat([x, p1], dim=1), scale_factor=2, mode="nearest")
        return torch.sigmoid(self.deconv2(x))

    def forward(self, x):
        return self.decoder(*self.encoder(x))
