"""``python -m chaoslib.book build|execute|render|reads``: see :mod:`chaoslib.book.build`."""

import sys

from chaoslib.book.build import main

sys.exit(main())
