"""``fg.nn.utils``: gradient clipping and parameter/vector conversion."""

from flowgrad.nn.utils.clip_grad import *  # noqa: F403
from flowgrad.nn.utils.convert_parameters import *  # noqa: F403
