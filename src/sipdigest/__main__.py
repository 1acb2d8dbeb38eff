"""``python -m sipdigest``: the same as the ``sipdigest`` command."""

import sys

from .cli import main

sys.exit(main())
