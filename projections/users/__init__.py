"""The users read model: every account with its roles, whether it is active and whether a
one-time password is pending (``projection``: tables and writes; ``rows``: what a reader gets;
``read``: the batched questions). Never a password hash."""
