import sys

from tools.proxy.cli import main

sys.exit(main())
