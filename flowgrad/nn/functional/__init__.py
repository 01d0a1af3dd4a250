"""``fg.nn.functional``: the stateless form of every layer, activations and losses.

Layers in :mod:`flowgrad.nn.modules` hold parameters and call these; everything here is
composed from flowgrad's primitives (plus the fused convolution and pooling kernels). No file
here is named like a function it exports (``dense.py`` holds ``linear``), so that importing a
submodule never finds a function in its place.
"""

from flowgrad.functions import log_softmax, pad, softmax
from flowgrad.nn.functional.activation import *  # noqa: F403
from flowgrad.nn.functional.conv import *  # noqa: F403
from flowgrad.nn.functional.dense import *  # noqa: F403
from flowgrad.nn.functional.dropouts import *  # noqa: F403
from flowgrad.nn.functional.loss import *  # noqa: F403
from flowgrad.nn.functional.normalization import *  # noqa: F403
from flowgrad.nn.functional.pooling import *  # noqa: F403
from flowgrad.nn.functional.sampling import *  # noqa: F403
from flowgrad.nn.functional.sparse import *  # noqa: F403
