"""Subcommands of ``danvan``: each module here with a ``register`` function is one
(see ``danvan.backend.cli``)."""
