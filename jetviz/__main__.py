import sys

from jetviz.cli import main

sys.exit(main())
