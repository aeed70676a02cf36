"""The small library under the recipes: data, flags, runs, training plumbing, plots, weights.

Each module has one job:

- ``errors``     -- the one exception type that becomes a one-line message and exit code 2
- ``limits``     -- the bounds the libraries set on seeds, epochs and batch sizes
- ``datasets``   -- real datasets with honest offline fallbacks (``load_dataset``)
- ``cli``        -- the shared command-line flags and their validation
- ``runs``       -- output directories, atomic ``results.json``, library versions
- ``training``   -- seeding, fitting, evaluating once on test, the results record
- ``checkpoint`` -- the training state ``--resume`` continues from; stopping on Ctrl-C
- ``plots``      -- learning curves (train solid, validation dashed)
- ``notebook``   -- a recipe run in a notebook: flags from a cell, figures shown inline
- ``weights``    -- numbers about the kernels: what L1 and L2 do to weights
- ``validate``   -- every file read back, checked against its JSON Schema
- ``lesson_cells`` -- the data, compile, training and evaluation cells lessons share
- ``lesson``     -- a recipe written as a lesson: its flags made from SETTINGS, its results

It imports nothing from ``recipes``, ``exercises`` or ``tools``: the comparison and its
report, the accuracy baselines and the grader, which use the recipes and the exercises,
are in ``tools``.
"""

import os

# TensorFlow's C++ start-up chatter (CPU features, graph attributes) buries the output
# students need to read; warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
