"""A multilayer perceptron on the handwritten digits bundled with flowgrad.

Run: ``python examples/digits_mlp.py``. Reaches about 97% test accuracy in a few seconds.
"""

import flowgrad as fg
from flowgrad import nn

fg.manual_seed(0)
digits = fg.data.datasets.load_digits()  # images (1797, 1, 8, 8) in [0, 1], labels 0..9
train_set, test_set = fg.data.random_split(digits, [0.8, 0.2])
train_loader = fg.data.DataLoader(train_set, batch_size=32, shuffle=True)
test_loader = fg.data.DataLoader(test_set, batch_size=256)

model = nn.Sequential(
    nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
optimizer = fg.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(20):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    model.eval()
    with fg.no_grad():
        correct = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in test_loader)
    print(f"epoch {epoch + 1:2d}  last batch loss {loss.item():.4f}  "
          f"test accuracy {correct / len(test_set):.2%}")
