"""Keras-style training on the bundled digits: a small CNN with ``model.fit``, a validation
split, early stopping, and the test accuracy at the end (about 98%).

Run: ``python examples/keras_digits.py``.
"""

import numpy as np

import flowgrad as fg
from flowgrad import keras
from flowgrad.keras import layers


def load(seed: int = 0):
    """Digits as channels-last images (N, 8, 8, 1) in [0, 1], split 80/20 into train/test."""
    images, labels = fg.data.datasets.load_digits().tensors
    x = images.numpy().transpose(0, 2, 3, 1).astype(np.float32)
    y = labels.numpy()
    order = np.random.default_rng(seed).permutation(len(x))
    split = int(len(x) * 0.8)
    return (x[order[:split]], y[order[:split]]), (x[order[split:]], y[order[split:]])


def build() -> keras.Model:
    return keras.Sequential([
        layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ], name="digits_cnn")


def main(epochs: int = 30, verbose: int = 2) -> float:
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=5,
                                         restore_best_weights=True)
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1,
              callbacks=[stop], verbose=verbose)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
