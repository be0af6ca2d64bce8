"""The ``securemedia`` command line: one module per command, errors mapped in ``main``."""
