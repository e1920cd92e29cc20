"""Read models built from the event log (``danvan.projections``).

At the top, what runs every projection: ``base`` (what a projection provides), ``events`` and
``event_types`` (decoding), ``runner``, ``applying``, ``pipeline``, ``rebuild``, ``schema``
(versions, views, row-level security), ``lag``, ``catalog``, ``embedded``; and what every read
shares: ``reading`` (row classes and their SELECT lists), ``paging`` (cursors), ``queries``
(the row-level security scope).

One package per read model: ``directory``, ``targets``, ``models``, ``plans``, ``audit``, each
with ``projection`` (its tables and writes), ``rows`` (what a reader gets, declared once) and
``read`` (its batched questions: the one place its SQL is read, called alike by GraphQL's
loaders, reports and tests).
"""
