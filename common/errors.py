"""Errors a user can fix: shown as one line on stderr, exit code 2."""


class UsageError(Exception):
    """Bad input or a missing resource; the message says how to fix it."""

    exit_code = 2


class DatasetUnavailable(UsageError):
    """No source of a dataset can be had on this machine."""
