"""Upper bounds the libraries set, checked before any work starts: the flags' parsers
(``common.cli``) and the schemas of every file read back (``common.validate``) share them.
NumPy and Keras take seeds below 2**32; TensorFlow counts batches, steps and layer widths
in 32-bit ints."""

MAX_SEED = 2**32 - 1
MAX_COUNT = 2**31 - 1
MAX_EPOCHS = MAX_BATCH_SIZE = MAX_COUNT
MAX_SEEDS = 10_000
# A tuning grid's values per regularizer (tools/tuning.py parses the grids).
MAX_GRID_VALUES = 20
