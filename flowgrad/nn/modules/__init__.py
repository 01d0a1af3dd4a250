"""The layers of ``fg.nn``: each a thin Module over a function of ``fg.nn.functional``."""

from flowgrad.nn.modules.activation import *  # noqa: F403
from flowgrad.nn.modules.container import *  # noqa: F403
from flowgrad.nn.modules.conv import *  # noqa: F403
from flowgrad.nn.modules.dropout import *  # noqa: F403
from flowgrad.nn.modules.flatten import *  # noqa: F403
from flowgrad.nn.modules.linear import *  # noqa: F403
from flowgrad.nn.modules.loss import *  # noqa: F403
from flowgrad.nn.modules.normalization import *  # noqa: F403
from flowgrad.nn.modules.pooling import *  # noqa: F403
from flowgrad.nn.modules.sampling import *  # noqa: F403
from flowgrad.nn.modules.sparse import *  # noqa: F403
