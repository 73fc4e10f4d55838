"""`python -m chalicelib.serve`."""

import sys

from chalicelib.serve.main import main

sys.exit(main())
