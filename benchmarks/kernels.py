"""The kernels that dominate a CNN's training step, one by one, against PyTorch's.

Shapes are the article CNN's (batch 64 of 3x32x32, Conv2d(3, 32, 3, padding=1), MaxPool 2,
10 classes) and Adam's update of its largest weight (8192x64). Each row times the forward,
or the forward and its gradient, of one operation with eager autograd in both libraries
(same threads), so it shows where flowgrad's time goes and which kernel to improve next.

Run: ``python -m benchmarks.kernels``. Figures are medians.
"""

from __future__ import annotations

import numpy as np

import flowgrad as fg
from benchmarks.common import all_cores, median_seconds, print_table

try:
    import torch
except ImportError:  # the reference is optional
    torch = None

RNG = np.random.default_rng(0)
IMAGES = RNG.standard_normal((64, 3, 32, 32)).astype(np.float32)
WEIGHT = RNG.standard_normal((32, 3, 3, 3)).astype(np.float32) * 0.2
BIAS = np.zeros(32, np.float32)
FEATURES = np.maximum(RNG.standard_normal((64, 32, 32, 32)).astype(np.float32), 0)
LOGITS = RNG.standard_normal((64, 10)).astype(np.float32)
LABELS = RNG.integers(0, 10, 64)
LARGE_LOGITS = RNG.standard_normal((512, 1000)).astype(np.float32)  # an ImageNet-sized head
LARGE_LABELS = RNG.integers(0, 1000, 512)
PARAM = RNG.standard_normal((64, 8192)).astype(np.float32)


def conv_forward(lib):
    x, w, b = lib.tensor(IMAGES), lib.tensor(WEIGHT), lib.tensor(BIAS)
    conv = lib.nn.functional.conv2d
    return lambda: conv(x, w, b, padding=1)


def conv_backward(lib):
    x = lib.tensor(IMAGES, requires_grad=True)
    w, b = lib.tensor(WEIGHT, requires_grad=True), lib.tensor(BIAS, requires_grad=True)
    upstream = lib.tensor(FEATURES)

    def step():
        out = lib.nn.functional.conv2d(x, w, b, padding=1)
        lib.autograd.grad(out, [x, w, b], grad_outputs=[upstream])

    return step


def relu_forward_backward(lib):
    x = lib.tensor(FEATURES - 0.5, requires_grad=True)
    upstream = lib.tensor(FEATURES)

    def step():
        lib.autograd.grad(lib.nn.functional.relu(x), [x], grad_outputs=[upstream])

    return step


def pool_forward_backward(lib):
    x = lib.tensor(FEATURES, requires_grad=True)

    def step():
        out = lib.nn.functional.max_pool2d(x, 2)
        lib.autograd.grad(out.sum(), [x])

    return step


def cross_entropy_forward_backward(lib):
    logits, labels = lib.tensor(LOGITS, requires_grad=True), lib.tensor(LABELS)

    def step():
        lib.autograd.grad(lib.nn.functional.cross_entropy(logits, labels), [logits])

    return step


def large_cross_entropy_forward_backward(lib):
    logits = lib.tensor(LARGE_LOGITS, requires_grad=True)
    labels = lib.tensor(LARGE_LABELS)

    def step():
        lib.autograd.grad(lib.nn.functional.cross_entropy(logits, labels), [logits])

    return step


def adam_update(lib):
    param = lib.tensor(PARAM.copy(), requires_grad=True)
    optimizer = lib.optim.Adam([param], lr=1e-3)
    param.grad = lib.tensor(PARAM * 0.01)
    optimizer.step()  # its state exists before timing
    return optimizer.step


KERNELS = {
    "conv2d forward": conv_forward,
    "conv2d forward + both gradients": conv_backward,
    "relu forward + gradient (2M values)": relu_forward_backward,
    "max_pool2d 2x2 forward + gradient": pool_forward_backward,
    "cross_entropy forward + gradient": cross_entropy_forward_backward,
    "cross_entropy 512x1000 forward + gradient": large_cross_entropy_forward_backward,
    "Adam update, 524k values": adam_update,
}


def main() -> None:
    threads = all_cores(torch)
    rows = []
    for name, make in KERNELS.items():
        ours = median_seconds(make(fg), repeats=9, min_time=0.2)
        row = {"kernel": name, "flowgrad ms": f"{ours * 1e3:.2f}"}
        if torch is not None:
            theirs = median_seconds(make(torch), repeats=9, min_time=0.2)
            row |= {"torch ms": f"{theirs * 1e3:.2f}",
                    "flowgrad / torch": f"{ours / theirs:.2f}x"}
        rows.append(row)
    print_table(f"Kernels of the article CNN's step (medians; {threads} threads; above 1x "
                f"means flowgrad takes longer)", rows,
                ["kernel", "flowgrad ms", "torch ms", "flowgrad / torch"])


if __name__ == "__main__":
    main()
