"""``python -m lib.book``: the book runner's command line (:func:`lib.book.runner.main`)."""
import sys

from .runner import main

sys.exit(main())
