"""Shared request plumbing for controllers: context, idempotency, preconditions."""
