"""``python -m assay``: the same as the ``assay`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
