"""The models read model: the registry (models, forms, recognitions, years' lists), quota counts
and the per-field breakdown, fed by one fold and tracked as one projection (``projection``,
``fold``; tables and writes in ``registry``, ``quota``, ``breakdown``). ``rows``: what a reader
gets; ``read``: the batched questions; ``quota_status`` and ``quota_page``: the pure rules and
paging over quota rows."""
