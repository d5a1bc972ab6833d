"""The activity feed: a SQL read model of both logs, one human sentence per entry (Portus F32).

`entries` turns logged events into entries, `visibility` says who may see which, `store` keeps
them in SQLite or PostgreSQL with the log positions they reflect, `projector` follows the logs in
batches, and `exports` writes CSV, JSON Lines and OCSF.
"""
