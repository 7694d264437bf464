"""``nbsecrets scan``: find API keys that already leaked into notebooks, files and history.

- :mod:`~nbsecrets.leakscan.patterns`: provider key formats;
- :mod:`~nbsecrets.leakscan.views`: the decoded views of a text (base64, escapes, splits);
- :mod:`~nbsecrets.leakscan.places`: where text lives in a notebook;
- :mod:`~nbsecrets.leakscan.engine`: the scan of one document (and the redaction matcher for
  the forms of what it found);
- :mod:`~nbsecrets.leakscan.managed`: fingerprints of managed keys (ListSecrets/DescribeSecret);
- :mod:`~nbsecrets.leakscan.walk`: files and git history; :mod:`~nbsecrets.leakscan.run`: the
  command; :mod:`~nbsecrets.leakscan.report`: text, JSON, SARIF;
- :mod:`~nbsecrets.leakscan.fix`: ``--fix``; :mod:`~nbsecrets.leakscan.jupyter`: the save hook.
"""
