import sys

from replearn_gui.app import main

sys.exit(main())
