"""The reminders read model: every ``Reminder.Sent`` (a tenant's daily reminder of one
subject) with what it named (``projection``: tables and writes; ``rows``: what a reader gets;
``read``: the batched questions)."""
