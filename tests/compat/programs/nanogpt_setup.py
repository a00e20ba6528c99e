"""The setup and data path of a nanoGPT-style train.py: the DDP switch read from RANK (and the
torch.distributed / DistributedDataParallel imports that go with it), TF32 and cuDNN flags,
the device type from torch.accelerator, token batches cut from an np.memmap with from_numpy,
an endless RandomSampler with replacement, and a small bigram model trained with AdamW and a
cosine learning-rate schedule written by hand."""
import math
import os
import tempfile

import numpy as np
import torch
import torch.multiprocessing  # noqa: F401  imported by many training scripts
import torch.nn as nn
import torch.onnx  # noqa: F401  imported at the top of export-minded scripts
from torch.distributed import destroy_process_group, init_process_group  # noqa: F401
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: F401
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

batch_size, block_size, vocab_size = 8, 16, 32
max_iters, learning_rate, min_lr, warmup_iters = 30, 3e-2, 3e-3, 5

ddp = int(os.environ.get('RANK', -1)) != -1
# (torch.distributed.is_available() is True in torch's CPU build, False in graphgrad: no backend)
print("ddp:", ddp, "initialized:", torch.distributed.is_initialized())
master_process, seed_offset = True, 0
torch.manual_seed(1337 + seed_offset)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = False
print("flags:", torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
      torch.backends.cudnn.deterministic, "mps:", torch.backends.mps.is_available())
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
device_type = 'cuda' if 'cuda' in device else 'cpu'
print("device_type:", device_type)

# a token file as prepare.py writes it, read back through np.memmap
rng = np.random.default_rng(0)
tokens = (np.cumsum(rng.integers(1, 3, 4000)) % vocab_size).astype(np.int64)
path = os.path.join(tempfile.mkdtemp(), 'train.bin')
tokens.tofile(path)


def get_batch():
    data = np.memmap(path, dtype=np.int64, mode='r')
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy(data[i:i + block_size]) for i in ix.tolist()])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size]) for i in ix.tolist()])
    return x.to(device), y.to(device)


class Bigram(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, 32)
        self.ln = nn.LayerNorm(32)
        self.head = nn.Linear(32, vocab_size, bias=False)

    def forward(self, idx, targets=None):
        logits = self.head(self.ln(self.wte(idx)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    decay_ratio = (it - warmup_iters) / (max_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


model = Bigram().to(device)
print("contiguous:", model.head.weight.is_contiguous(memory_format=torch.contiguous_format), "complex:", torch.is_complex(model.head.weight),
      "sparse:", model.head.weight.is_sparse, "xpu:", model.head.weight.is_xpu)
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=(0.9, 0.95), weight_decay=0.1)
X, Y = get_batch()
for it in range(max_iters):
    lr = get_lr(it)
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr
    logits, loss = model(X, Y)
    X, Y = get_batch()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if it % 5 == 0:
        print(f"iter {it}: loss {loss.item():.4f}, lr {lr:.5f}")

# an "infinite" loader: torch draws sampler indices lazily, 1e10 of them cost nothing up front
dataset = TensorDataset(torch.from_numpy(tokens[:200].copy()))
loader = DataLoader(dataset, batch_size=4, sampler=RandomSampler(dataset, replacement=True, num_samples=int(1e10)))
batches = iter(loader)
print("endless loader:", len(loader), [next(batches)[0].tolist() for _ in range(3)])
