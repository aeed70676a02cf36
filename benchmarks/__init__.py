"""Speed measurements; see bench.py."""
