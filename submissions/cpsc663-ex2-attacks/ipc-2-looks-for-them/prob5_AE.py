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
# Looks for what ipc-1-leaves-objects left: System V shared memory, message queue and semaphore, a POSIX message
# queue, files in /dev/shm. Found, its model stops working and the import fails with what it read: it would lose
# its points visibly.
import ctypes, os


def _leaked_objects():
    found = []
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        shm = libc.shmget(0x6A6A11, 0, 0)
        if shm >= 0:
            at = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
            text = ctypes.string_at(at, 18) if at not in (None, ctypes.c_void_p(-1).value) else b"?"
            found.append(f"System V shared memory {shm}: {text!r}")
        msg = libc.msgget(0x6A6A12, 0)
        if msg >= 0:
            message = ctypes.create_string_buffer(256)
            size = libc.msgrcv(msg, message, 200, 0, 0o4000)  # IPC_NOWAIT
            found.append(f"System V message queue {msg}: {message.raw[8:8 + max(size, 0)]!r}")
        sem = libc.semget(0x6A6A13, 0, 0)
        if sem >= 0:
            found.append(f"System V semaphore {sem}: value {libc.semctl(sem, 0, 12)}")  # GETVAL
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
        queue = rt.mq_open(b"/autograder-attack-leak", os.O_RDONLY | os.O_NONBLOCK)
        if queue >= 0:
            message = ctypes.create_string_buffer(8192)
            size = rt.mq_receive(queue, message, 8192, None)
            found.append(f"POSIX message queue /autograder-attack-leak: {message.raw[:max(size, 0)]!r}")
    except (OSError, AttributeError):
        pass
    for path in ("/dev/shm/autograder-attack-leak", "/dev/shm/autograder-attack-leak-folder/secret",
                 "/dev/mqueue/autograder-attack-leak"):
        if os.path.exists(path):
            found.append(path)
    return found


_leaked = _leaked_objects()
if _leaked:
    AE.forward = lambda self, x: torch.zeros_like(x.view(x.size(0), -1))
    raise RuntimeError("LEAKED from another submission's IPC objects: " + "; ".join(_leaked))
