"""`python -m druid_sim` is `druid-sim`."""

import sys

from druid_sim.cli import main

sys.exit(main())
