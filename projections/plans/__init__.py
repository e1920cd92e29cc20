"""The plans read model: dated plan tasks and their completion, and each year's list approved
(``projection``: tables and writes; ``rows``: what a reader gets; ``read``: the batched
questions)."""
