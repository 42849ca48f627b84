"""Problem 4.2: a CNN that classifies MNIST digits.

Run ``python prob4_CNN.py`` to train it for 5 epochs, save the first layer's
40 filters to ``prob4_CNN.png`` (4.2a) and the test-set confusion matrix to
``prob4_confusion_matrix.png`` (4.2b).
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 40, kernel_size=5)  # the 40 filters of 4.2(a)
        self.conv2 = nn.Conv2d(40, 80, kernel_size=5)
        self.fc1 = nn.Linear(80 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = x.reshape(-1, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 40 x 12 x 12
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 80 x 4 x 4
        x = F.relu(self.fc1(x.flatten(1)))
        return F.log_softmax(self.fc2(x), dim=1)


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"epoch {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}] loss {loss.item():.4f}")


@torch.no_grad()
def test(args, model, device, test_loader):
    """Return the mean loss, the accuracy, and the predicted and true labels."""
    model.eval()
    loss, predictions, targets = 0.0, [], []
    for data, target in test_loader:
        data, target = data.to(device), target.to(device)
        output = model(data)
        loss += F.nll_loss(output, target, reduction="sum").item()
        predictions.append(output.argmax(dim=1).cpu())
        targets.append(target.cpu())
    predictions, targets = torch.cat(predictions).numpy(), torch.cat(targets).numpy()
    accuracy = float(np.mean(predictions == targets))
    print(f"test loss {loss / len(targets):.4f}, accuracy {accuracy:.2%}")
    return loss / len(targets), accuracy, predictions, targets


def visualize_filters(model, path="prob4_CNN.png"):
    """4.2(a): save the 40 filters of the first convolution as one image grid."""
    ### BEGIN SOLUTION
    from torchvision.utils import save_image

    filters = model.conv1.weight.detach().cpu()  # 40 x 1 x 5 x 5
    save_image(filters, path, nrow=8, normalize=True, padding=1)
    ### END SOLUTION


def plot_confusion_matrix(targets, predictions, path="prob4_confusion_matrix.png"):
    """4.2(b): save the confusion matrix of the test split as a labelled plot."""
    ### BEGIN SOLUTION
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay.from_predictions(targets, predictions, colorbar=False)
    display.ax_.set_title("MNIST test split: true vs predicted digit")
    display.figure_.savefig(path, dpi=120, bbox_inches="tight")
    ### END SOLUTION


def load_mnist(root, train, n=None):
    """Images as (N, 1, 28, 28) floats in [0, 1], and labels; the first ``n`` if given."""
    mnist = datasets.MNIST(root=root, train=train, download=True)
    images = mnist.data[:n].float().div(255).unsqueeze(1)
    return torch.utils.data.TensorDataset(images, mnist.targets[:n])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="./data", help="torchvision root holding MNIST/")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=2000)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader = torch.utils.data.DataLoader(
        load_mnist(args.data, train=True), batch_size=args.batch_size, shuffle=True
    )
    test_loader = torch.utils.data.DataLoader(
        load_mnist(args.data, train=False, n=args.n_test), batch_size=args.test_batch_size
    )
    model = CNN().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        _, _, predictions, targets = test(args, model, device, test_loader)
    visualize_filters(model)
    plot_confusion_matrix(targets, predictions)
    torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == "__main__":
    main()
