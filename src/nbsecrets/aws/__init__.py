"""Everything that talks to AWS: session and roles, reads, writes and versions, error translation.

Modules here import the core (config, providers, refs, errors) and each other, never api,
notebook/ or admin/. None imports boto3 at import time.
"""
