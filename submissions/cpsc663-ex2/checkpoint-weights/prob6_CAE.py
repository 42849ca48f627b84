"""Problem 6: convolutional autoencoders on MNIST with a two-dimensional code.

* ``CAE`` (6.1): exactly the handout's layer list; weights in ``mnist_cae.pt``.
* ``CAE_skip`` (6.2): the same layers, plus skip connections that add the output
  of each pooling layer to the input of its corresponding upsampling layer;
  weights in ``mnist-cae-skip.pt``.
* 6.3: train either on inputs corrupted by ``add_noise`` (Gaussian noise with
  standard deviation 0.3) and targets left clean: ``--noise-std 0.3``.

Run ``python prob6_CAE.py --model cae`` or ``--model skip``.
"""

import argparse

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets

NOISE_STD = 0.3


class CAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(4, 8, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(8 * 7 * 7, 20),
            nn.ReLU(),
            nn.Linear(20, 2),
        )
        self.decoder = nn.Sequential(
            nn.Linear(2, 20),
            nn.ReLU(),
            nn.Linear(20, 8 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (8, 7, 7)),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(8, 4, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(4, 1, kernel_size=3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x.reshape(-1, 1, 28, 28)))


class SkipEncoder(nn.Module):
    """The CAE encoder; also returns the two pooling outputs for the decoder."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3, stride=1, padding=1)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(8 * 7 * 7, 20)
        self.fc2 = nn.Linear(20, 2)

    def forward(self, x):
        pooled1 = self.pool1(F.relu(self.conv1(x)))  # 4 x 14 x 14
        pooled2 = self.pool2(F.relu(self.conv2(pooled1)))  # 8 x 7 x 7
        code = self.fc2(F.relu(self.fc1(pooled2.flatten(1))))
        return code, pooled2, pooled1


class SkipDecoder(nn.Module):
    """The CAE decoder; adds each pooling output to the input of the matching upsampling."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 20)
        self.fc2 = nn.Linear(20, 8 * 7 * 7)
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv1 = nn.Conv2d(8, 4, kernel_size=3, padding=1)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv2 = nn.Conv2d(4, 1, kernel_size=3, padding=1)

    def forward(self, code, pooled2, pooled1):
        h = F.relu(self.fc2(F.relu(self.fc1(code)))).view(-1, 8, 7, 7)
        h = F.relu(self.conv1(self.up1(h + pooled2)))
        return torch.sigmoid(self.conv2(self.up2(h + pooled1)))


class CAE_skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = SkipEncoder()
        self.decoder = SkipDecoder()

    def forward(self, x):
        return self.decoder(*self.encoder(x.reshape(-1, 1, 28, 28)))


def add_noise(x, std=NOISE_STD, generator=None):
    """Corrupt x with Gaussian noise of standard deviation ``std`` (6.3); no clipping."""
    return x + std * torch.randn(x.shape, generator=generator, device=x.device)


def load_mnist(root, train):
    """Images as (N, 1, 28, 28) floats in [0, 1], and labels."""
    mnist = datasets.MNIST(root=root, train=train, download=True)
    return mnist.data.float().div(255).unsqueeze(1), mnist.targets


def train_epoch(model, loader, optimizer, device, noise_std=0.0):
    model.train()
    total = 0.0
    for (x,) in loader:
        x = x.to(device)
        inputs = add_noise(x, noise_std) if noise_std else x
        optimizer.zero_grad()
        loss = F.mse_loss(model(inputs), x)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return total / len(loader.dataset)


@torch.no_grad()
def test(model, x, device, noise_std=0.0):
    model.eval()
    x = x.to(device)
    inputs = add_noise(x, noise_std) if noise_std else x
    return F.mse_loss(model(inputs), x).item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=("cae", "skip"), default="cae")
    parser.add_argument("--noise-std", type=float, default=0.0, help="0.3 for Problem 6.3")
    parser.add_argument("--data", default="./data", help="torchvision root holding MNIST/")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_x, _ = load_mnist(args.data, train=True)
    test_x, _ = load_mnist(args.data, train=False)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_x), batch_size=args.batch_size, shuffle=True
    )
    model = (CAE() if args.model == "cae" else CAE_skip()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        train_loss = train_epoch(model, loader, optimizer, device, args.noise_std)
        test_loss = test(model, test_x, device, args.noise_std)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test loss {test_loss:.4f}")
    default_out = {"cae": "mnist_cae.pt", "skip": "mnist-cae-skip.pt"}[args.model]
    if args.noise_std:
        default_out = default_out.replace(".pt", "-denoise.pt")
    torch.save(model.state_dict(), args.out or default_out)


if __name__ == "__main__":
    main()
