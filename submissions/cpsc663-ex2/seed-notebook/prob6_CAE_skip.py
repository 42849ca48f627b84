import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(392, 20)
        self.fc2 = nn.Linear(20, 2)

    def forward(self, x):
        x1 = self.pool(F.relu(self.conv1(x)))
        x4 = self.pool(F.relu(self.conv2(x1)))
        z = self.fc2(F.relu(self.fc1(x4.view(-1, 392))))
        return z, x4, x1


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 20)
        self.fc2 = nn.Linear(20, 392)
        self.conv1 = nn.Conv2d(8, 4, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(4, 1, kernel_size=3, padding=1)

    def forward(self, z, x4, x1):
        x = F.relu(self.fc2(F.relu(self.fc1(z)))).view(-1, 8, 7, 7)
        x = F.interpolate(x + x4, scale_factor=2)
        x = F.relu(self.conv1(x))
        x = F.interpolate(x + x1, scale_factor=2)
        return torch.sigmoid(self.conv2(x))


class CAE_skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x):
        z, x4, x1 = self.encoder(x)
        return self.decoder(z, x4, x1)


def train_log(model, device, loader, optimizer, epoch):
    model.train()
    total = 0
    for data, _ in loader:
        data = data.to(device)
        optimizer.zero_grad()
        loss = F.mse_loss(model(data), data)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"Train Epoch: {epoch} \t| Train set: Average loss: {total / len(loader):.4f}")


def test(model, device, loader):
    model.eval()
    total = 0
    with torch.no_grad():
        for data, _ in loader:
            data = data.to(device)
            total += F.mse_loss(model(data), data).item()
    print(f"Test set: Average loss: {total / len(loader):.4f}")


def main_wrapper(train_loader, test_loader, model, file_name, epochs=10):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(1, epochs + 1):
        train_log(model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
    torch.save(model.state_dict(), file_name)


if __name__ == '__main__':
    mnist_trainset = datasets.MNIST(root='./data', train=True, download=True, transform=None)
    mnist_testset = datasets.MNIST(root='./data', train=False, download=True, transform=None)
    train_data = (mnist_trainset.data.to(dtype=torch.float32) / 255).view(-1, 1, 28, 28)
    test_data = (mnist_testset.data.to(dtype=torch.float32)[:2000] / 255).view(-1, 1, 28, 28)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_data, mnist_trainset.targets), batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(test_data, mnist_testset.targets[:2000]), batch_size=1000)

    main_wrapper(train_loader, test_loader, CAE_skip(), file_name='mnist_cae_skip.pt')
