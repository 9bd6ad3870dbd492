"""``python -m milvus_plugins.cli``: the ``milvus-plugins`` command."""

import sys

from milvus_plugins.cli import main

sys.exit(main())
