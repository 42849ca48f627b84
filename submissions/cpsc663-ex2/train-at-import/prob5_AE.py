import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets

args = dict(batch_size=64, test_batch_size=1000, epochs=10, lr=0.001, seed=1)


class AE(nn.Module):
    def __init__(self):
        super(AE, self).__init__()
        self.encoder = nn.Sequential(
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 64), nn.ReLU(),
            nn.Linear(64, 16), nn.ReLU(),
            nn.Linear(16, 2))
        self.decoder = nn.Sequential(
            nn.Linear(2, 16), nn.ReLU(),
            nn.Linear(16, 64), nn.ReLU(),
            nn.Linear(64, 256), nn.ReLU(),
            nn.Linear(256, 784), nn.Sigmoid())

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def train_log(model, device, train_loader, optimizer, epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.mse_loss(output, data)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
    train_loss /= len(train_loader)
    print(f"Train Epoch: {epoch} \t| Train set: Average loss: {train_loss:.4f}")


torch.manual_seed(args['seed'])
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# Download the MNIST dataset
mnist_trainset = datasets.MNIST(root='./data', train=True, download=True, transform=None)
ntrain = 60000
train_data = (mnist_trainset.data.to(dtype=torch.float32)[:ntrain] / 255).view(-1, 784)
train_labels = mnist_trainset.targets.to(dtype=torch.long)[:ntrain]
train_dataset = torch.utils.data.TensorDataset(train_data, train_labels)
train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=args['batch_size'], shuffle=True)

model = AE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=args['lr'])
for epoch in range(1, args['epochs'] + 1):
    train_log(model, device, train_loader, optimizer, epoch)

torch.save(model.state_dict(), "mnist_ae.pt")
