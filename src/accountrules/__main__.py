"""``python -m accountrules``: the same command line as ``accountrules``."""

import sys

from accountrules.cli import main

sys.exit(main())
