"""LDAP: authenticating against a directory and following its groups (portus.md §1.3)."""
