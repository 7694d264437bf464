"""Everything that talks to AWS: the store (the one facade), its transport (session, clients,
calls, failover, error translation), cache, reads, writes and versions, rotation staging.

Modules here import the core (config, providers, refs, errors) and each other, never api,
notebook/ or admin/. None imports boto3 at import time; only transport.py imports it at all.
"""
