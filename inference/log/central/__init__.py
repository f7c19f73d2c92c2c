"""The central copy: station logs replicated to PostgreSQL, one audit trail for many stations.

- :mod:`.config`: the server's URL and credentials (never a password on the command line);
- :mod:`.schema`: the server schema and its numbered migrations (chain checked on arrival);
- :mod:`.push`: ``tilik log push`` (idempotent, resumable, forks refused);
- :mod:`.verify`: ``tilik log verify --central``;
- :mod:`.reader`: the read commands (list/show/export) against the server;
- :mod:`.refs`: shared signature references (push/pull per customer).

The station's SQLite log stays the offline source of truth; see ``docs/log.md`` "Many stations".
"""
