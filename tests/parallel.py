"""Give each parallel test process (pytest-xdist worker) its own Celery queues and cache keys.

Loaded with `-p tests.parallel` (pyproject addopts), so it runs before pytest-django imports the
settings. pytest-django already gives each process its own test database; the queues and cache
keys come from TALLY_QUEUE_PREFIX, which the worker processes a test starts inherit as is.
"""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and not os.environ.get("TALLY_PARALLEL_PREFIXED"):
    os.environ["TALLY_QUEUE_PREFIX"] = f"{os.environ.get('TALLY_QUEUE_PREFIX', '')}{_worker}-"
    os.environ["TALLY_PARALLEL_PREFIXED"] = "1"
