"""``python -m chaoslib.book build|execute|render``: see :mod:`chaoslib.book.build`."""

from chaoslib.book.build import main

main()
