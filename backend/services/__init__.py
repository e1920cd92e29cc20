"""Application services: load aggregates, call the domain, save. No HTTP in here."""
