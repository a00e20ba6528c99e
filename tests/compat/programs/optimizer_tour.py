"""Every torch.optim algorithm a script may name, on the same small regression: a fresh seeded
MLP per optimizer, a few steps each (LBFGS through its closure, with the strong-Wolfe line
search), and SparseAdam on an embedding table with sparse gradients beside Adam for the rest."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
x = torch.randn(64, 6)
y = (x[:, :2].sum(1, keepdim=True) - x[:, 2:3]).tanh()


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))


def run(name, make_optimizer, steps=12):
    model = make_model()
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            return loss
        losses.append(optimizer.step(closure).item())
    print(f"{name:10s}", " ".join(f"{v:.5f}" for v in losses[::3]), f"final {F.mse_loss(model(x), y).item():.5f}")


run("Adadelta", lambda p: torch.optim.Adadelta(p, lr=1.0, weight_decay=1e-3))
run("Adagrad", lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=1e-3))
run("Adamax", lambda p: torch.optim.Adamax(p, lr=0.02))
run("NAdam", lambda p: torch.optim.NAdam(p, lr=0.02, decoupled_weight_decay=True, weight_decay=0.01))
run("RAdam", lambda p: torch.optim.RAdam(p, lr=0.02))
run("ASGD", lambda p: torch.optim.ASGD(p, lr=0.05, t0=5))
run("Rprop", lambda p: torch.optim.Rprop(p, lr=0.01, maximize=False))
run("LBFGS", lambda p: torch.optim.LBFGS(p, lr=0.5, max_iter=4, line_search_fn="strong_wolfe"), steps=4)

torch.manual_seed(2)
emb = nn.Embedding(50, 8, sparse=True)
head = nn.Linear(8, 1)
initial = emb.weight.detach().clone()
sparse_opt = torch.optim.SparseAdam(list(emb.parameters()), lr=0.05)
dense_opt = torch.optim.Adam(head.parameters(), lr=0.05)
ids = torch.randint(0, 50, (40, 3))
target = torch.randn(40, 1)
for step in range(12):
    sparse_opt.zero_grad()
    dense_opt.zero_grad()
    loss = F.mse_loss(head(emb(ids).mean(1)), target)
    loss.backward()
    sparse_opt.step()
    dense_opt.step()
    if step % 3 == 0:
        print(f"SparseAdam step {step} loss {loss.item():.5f}")
unused = sorted(set(range(50)) - set(ids.flatten().tolist()))
print("rows never looked up:", unused[:5], "unchanged:", torch.equal(emb.weight[unused], initial[unused]))
