"""``python -m gridflow`` is the ``gridflow`` command."""

import sys

from gridflow.cli import main

sys.exit(main())
