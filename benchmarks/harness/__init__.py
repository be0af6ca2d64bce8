"""Shared pieces of the benchmark scripts: measuring child processes, the tools
under comparison, the machine description and the report writers."""
