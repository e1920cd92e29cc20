"""The targets read model: every version of a tenant's, a province's or a multi-year period's
targets, valid from the event that set it until the next (``projection``: tables and writes;
``rows``: what a reader gets; ``read``: the batched questions)."""
