import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets


class AE(nn.Module):
    def __init__(self):
        super(AE, self).__init__()
        self.encoder = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, 12),
            nn.ReLU(),
            nn.Linear(12, 2))
        self.decoder = nn.Sequential(
            nn.Linear(2, 12),
            nn.ReLU(),
            nn.Linear(12, 64),
            nn.ReLU(),
            nn.Linear(64, 128),
            nn.ReLU(),
            nn.Linear(128, 28 * 28),
            nn.Sigmoid())

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def train_log(args, model, device, train_loader, optimizer, epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        loss = F.mse_loss(model(data), data)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
    train_loss /= len(train_loader)
    print(f"Train Epoch: {epoch} \t| Train set: Average loss: {train_loss:.4f}")


def main():
    args = dict(batch_size=64, epochs=10, lr=0.001, seed=1)
    torch.manual_seed(args['seed'])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    mnist_trainset = datasets.MNIST(root='./data', train=True, download=True, transform=None)
    train_data = (mnist_trainset.data.to(dtype=torch.float32) / 255).view(-1, 28 * 28)
    train_dataset = torch.utils.data.TensorDataset(train_data, mnist_trainset.targets)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=args['batch_size'], shuffle=True)
    model = AE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args['lr'])
    for epoch in range(1, args['epochs'] + 1):
        train_log(args, model, device, train_loader, optimizer, epoch)
    torch.save(model.state_dict(), "mnist_ae.pt")


if __name__ == '__main__':
    main()
