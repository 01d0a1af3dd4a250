"""Utilities under PyTorch's names: ``flowgrad.utils.tensorboard`` (TensorBoard summaries).

Submodules are imported on use, so ``import flowgrad.utils`` needs no optional package."""
