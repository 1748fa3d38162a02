"""``python -m wt06_grading``: the same as the ``wt06-grade`` command."""

import sys

from wt06_grading.cli import main

sys.exit(main())
