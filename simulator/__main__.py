"""`python -m simulator` is `druid-sim`."""

import sys

from simulator.cli import main

sys.exit(main())
