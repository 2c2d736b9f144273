"""`python -m strongroom` is the `strongroom` command."""

import sys

from strongroom.cli import main

sys.exit(main())
