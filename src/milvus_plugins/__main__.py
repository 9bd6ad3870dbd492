"""``python -m milvus_plugins``: the ``milvus-plugins`` command."""

import sys

from milvus_plugins.cli import main

sys.exit(main())
