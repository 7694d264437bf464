"""What runs in a kernel: the %aikey magic, the key picker, and the redaction hooks.

magic.py (``%aikey``), picker.py (the widget); the hooks: install.py (where each hook goes,
once), send.py (every message to the front end), display.py (results, displays, tracebacks
and ``Out``), history.py (inputs, the history database, ``%logstart``, per-cell outputs),
fdtee.py (the kernel's own stdout/stderr). Uses nbsecrets.api, aws/ and the core; nothing
below imports from here.
"""
