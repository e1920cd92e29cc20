"""The directory read model: onboarded tenants and their units (``projection``: tables and
writes; ``rows``: what a reader gets; ``read``: the batched questions)."""
