"""The audit read model: one row per event for inspectors' filters, the rest read from the log
itself (``projection``: table, view and writes; ``rows``: what a reader gets; ``read``: the
questions)."""
