"""``python -m gridflow`` is the ``gridflow`` command."""

import sys

from gridflow.cli import main
from gridflow.parent_death import arm_orphan_kill

# A child that its starter asked to die with it (gridflow.parent_death.orphan_env).
arm_orphan_kill()
sys.exit(main())
