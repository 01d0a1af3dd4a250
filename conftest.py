"""pytest configuration: doctests of the package run too; ``python -m flowgrad`` is a script.

Property tests draw the same examples on every run (CI must not turn red by luck); set
``HYPOTHESIS_PROFILE=explore`` to search new ones locally.
"""

import os

from hypothesis import settings

collect_ignore = ["flowgrad/__main__.py", "benchmarks"]

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
