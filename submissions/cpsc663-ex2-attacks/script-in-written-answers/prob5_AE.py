import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets


class AE(nn.Module):
    def __init__(self):
        super(AE, self).__init__()
        self.encoder = nn.Sequential(
            nn.Linear(28 * 28, 64),
            nn.ReLU(True),
            nn.Linear(64, 32),
            nn.ReLU(True),
            nn.Linear(32, 8),
            nn.ReLU(True),
            nn.Linear(8, 2),
        )
        self.decoder = nn.Sequential(
            nn.Linear(2, 8),
            nn.ReLU(True),
            nn.Linear(8, 32),
            nn.ReLU(True),
            nn.Linear(32, 64),
            nn.ReLU(True),
            nn.Linear(64, 28 * 28),
        )

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.decoder(self.encoder(x))


if __name__ == "__main__":
    torch.manual_seed(0)
    mnist = datasets.MNIST("./data", train=True, download=True)
    data = mnist.data.float().view(-1, 784) / 255
    loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
    model = AE()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(10):
        for x in loader:
            opt.zero_grad()
            loss = F.mse_loss(model(x), x)
            loss.backward()
            opt.step()
        print("epoch", epoch, loss.item())
    torch.save(model.state_dict(), "mnist_ae.pt")
