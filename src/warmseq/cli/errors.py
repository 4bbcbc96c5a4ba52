"""The CLI's own error for mistakes in the command line or its input."""


class UsageError(Exception):
    """Printed as one line on stderr with exit code 2, no traceback."""
