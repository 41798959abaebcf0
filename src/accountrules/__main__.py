"""``python -m accountrules``: the same command line as ``accountrules``."""

import sys

from accountrules.cli import console

sys.exit(console())
