import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets


class CAE(nn.Module):
    def __init__(self):
        super(CAE, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3, stride=1, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 20)
        self.fc2 = nn.Linear(20, 2)
        self.fc3 = nn.Linear(2, 20)
        self.fc4 = nn.Linear(20, 392)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.conv3 = nn.Conv2d(8, 4, kernel_size=3, padding=1)
        self.conv4 = nn.Conv2d(4, 1, kernel_size=3, padding=1)
        self.relu = nn.ReLU()
        self.sigmoid = nn.Sigmoid()

    def encoder(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.view(-1, 8 * 7 * 7)
        x = self.relu(self.fc1(x))
        return self.fc2(x)

    def decoder(self, z):
        x = self.relu(self.fc3(z))
        x = self.relu(self.fc4(x))
        x = x.view(-1, 8, 7, 7)
        x = self.relu(self.conv3(self.up(x)))
        return self.sigmoid(self.conv4(self.up(x)))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def main():
    mnist_trainset = datasets.MNIST(root='./data', train=True, download=True, transform=None)
    train_data = (mnist_trainset.data.to(dtype=torch.float32) / 255).view(-1, 1, 28, 28)
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=64, shuffle=True)

    model = CAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(10):
        for data in train_loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(data), data)
            loss.backward()
            optimizer.step()
        print('epoch', epoch, loss.item())
    torch.save(model.state_dict(), 'mnist_cae.pt')


if __name__ == '__main__':
    main()
