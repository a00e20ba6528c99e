"""Train a small classifier on the handwritten digits that ship with scikit-learn, the way the
PyTorch tutorials train on MNIST, then look at one recorded training step.

    .venv/bin/python examples/train_digits.py
"""
from tqdm import tqdm

import graphgrad as torch
from graphgrad import datasets, nn, optim
from graphgrad.utils.data import DataLoader

torch.manual_seed(0)
train_loader = DataLoader(datasets.digits(train=True), batch_size=64, shuffle=True)
test_loader = DataLoader(datasets.digits(train=False), batch_size=256)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
print(model)

for epoch in range(5):
    model.train()
    for images, labels in tqdm(train_loader, desc=f"epoch {epoch}", unit="batch", leave=False):
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in test_loader)
    print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {correct / len(test_loader.dataset):.3f}")

# One more step under a recorder: every op, with its module, source line, shapes and timing.
images, labels = next(iter(train_loader))
with torch.trace(model) as t:
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
graph = t.graph
print(f"\none recorded step: {len(graph.nodes)} nodes; the forward ops:")
for node in graph.nodes:
    if node.phase == "forward" and node.kind == "op":
        print(f"  {node.op:<14} {node.module or '(top)':<10} {str(list(node.shape)):<10} {node.grad_fn or ''}")
