"""The Keras tests' shared fixture: TensorFlow (tf.keras is their reference), imported once
per module and quietly, or a skip where it is not installed."""

import os

import pytest


@pytest.fixture(scope="module")
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")
