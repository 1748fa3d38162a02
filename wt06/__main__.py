import sys

from wt06.cli import main

sys.exit(main())
