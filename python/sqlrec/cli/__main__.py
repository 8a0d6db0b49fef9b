"""`python -m sqlrec.cli`: the same as the `sqlrec` command."""

import sys

from sqlrec.cli import main

sys.exit(main())
