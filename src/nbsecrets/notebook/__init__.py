"""What runs in a kernel: the %aikey magic, the key picker, and the redaction hooks.

Uses nbsecrets.api and the core; nothing below imports from here.
"""
