"""The demo's CNN on the handwritten digits, as a plain script (no progress bar, no plot).

Run: ``python examples/digits_cnn.py`` (``make demo`` runs the same model with a progress
bar and writes a PNG of the training curves).
"""

import flowgrad as fg
from flowgrad.demo import DigitsCNN, evaluate

fg.manual_seed(0)
digits = fg.data.datasets.load_digits()
train_set, test_set = fg.data.random_split(digits, [0.8, 0.2])
train_loader = fg.data.DataLoader(train_set, batch_size=32, shuffle=True)
test_loader = fg.data.DataLoader(test_set, batch_size=256)

model = DigitsCNN()
optimizer = fg.optim.Adam(model.parameters(), lr=3e-3)

for epoch in range(10):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = fg.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    test_loss, test_accuracy = evaluate(model, test_loader)
    print(f"epoch {epoch + 1:2d}  test loss {test_loss:.4f}  test accuracy {test_accuracy:.2%}")
