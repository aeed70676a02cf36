"""Everything a student does not copy: data, flags, training plumbing, reports.

Each module has one job:

- ``errors``   -- the one exception type that becomes a one-line message and exit code 2
- ``datasets`` -- real datasets with honest offline fallbacks (``load_dataset``)
- ``cli``      -- the shared command-line flags and their validation
- ``runs``     -- output directories, atomic ``results.json``, library versions
- ``training`` -- seeding, fitting, evaluating once on test, the results record
- ``plots``    -- learning curves (train solid, validation dashed)
"""

import os

# TensorFlow's C++ start-up chatter (CPU features, graph attributes) buries the output
# students need to read; warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
