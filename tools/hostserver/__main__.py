import sys

from tools.hostserver import main

sys.exit(main())
