import sys

from sre_agent.cli import main

sys.exit(main())
