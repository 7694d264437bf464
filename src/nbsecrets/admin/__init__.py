"""What an administrator runs: policies, the policy evaluator, provision, doctor, lifecycle deploy.

Uses nbsecrets.api, nbsecrets.aws and the core; nothing below imports from here.
"""
