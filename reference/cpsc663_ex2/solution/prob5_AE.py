"""Problem 5.4: an autoencoder that embeds MNIST into two dimensions.

Run ``python prob5_AE.py`` to train it (Adam, learning rate 0.001, 10 epochs)
and save the weights to ``mnist_ae.pt``.
"""

import argparse

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets

CODE_SIZE = 2


def linear_stack(sizes):
    """Linear layers of the given sizes with a ReLU between each two, none before or after."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class AE(nn.Module):
    """784 -> 128 -> 64 -> 12 -> 2 -> 12 -> 64 -> 128 -> 784, no nonlinearity at the code."""

    def __init__(self, sizes=(784, 128, 64, 12, CODE_SIZE)):
        super().__init__()
        self.encoder = linear_stack(sizes)
        self.decoder = nn.Sequential(linear_stack(sizes[::-1]), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x.reshape(len(x), -1)))


def load_mnist(root, train):
    """Images as (N, 784) floats in [0, 1], and labels."""
    mnist = datasets.MNIST(root=root, train=train, download=True)
    return mnist.data.float().div(255).reshape(-1, 28 * 28), mnist.targets


def train_epoch(model, loader, optimizer, device):
    model.train()
    total = 0.0
    for (x,) in loader:
        x = x.to(device)
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), x)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return total / len(loader.dataset)


@torch.no_grad()
def test(model, x, device):
    model.eval()
    x = x.to(device)
    return F.mse_loss(model(x), x).item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="./data", help="torchvision root holding MNIST/")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="mnist_ae.pt")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_x, _ = load_mnist(args.data, train=True)
    test_x, _ = load_mnist(args.data, train=False)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_x), batch_size=args.batch_size, shuffle=True
    )
    model = AE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        train_loss = train_epoch(model, loader, optimizer, device)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test loss {test(model, test_x, device):.4f}")
    torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
