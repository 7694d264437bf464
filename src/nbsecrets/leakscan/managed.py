"""The fingerprints of the keys this team manages, read with ListSecrets/DescribeSecret only.

No secret value is read: each managed secret carries the ``nbsecrets:fingerprint`` tag
(:mod:`nbsecrets.fingerprint`), which confirms a candidate the scan already holds. The
listing is the one ``nbsecrets list`` makes (ListSecrets under the prefix, with tags and each
version's staging labels); a role that may not list falls back to DescribeSecret on the
provider secrets it knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nbsecrets import fingerprint
from nbsecrets.errors import AccessDeniedError, KeyNotFoundError, NbSecretsError
from nbsecrets.leakscan.engine import Match

__all__ = ["Fingerprints", "load"]


@dataclass
class Fingerprints:
    """Fingerprint entries of managed secrets: (secret, provider, entry, stages by version)."""

    items: list[tuple[str, str, fingerprint.Entry, dict[str, tuple[str, ...]]]] = field(
        default_factory=list
    )
    lengths: frozenset[int] = frozenset()

    def add(
        self, secret: str, provider: str, tag: str | None, stages: dict[str, tuple[str, ...]]
    ) -> None:
        for e in fingerprint.parse(tag):
            self.items.append((secret, provider, e, stages))
        self.lengths = frozenset(e.length for _, _, e, _ in self.items)

    def match(self, value: str) -> Match | None:
        """The managed key ``value`` is, or None."""
        if len(value) not in self.lengths:
            return None
        for secret, provider, e, stages in self.items:
            if e.matches(value):
                return Match(secret, provider, e.version_id, stages.get(e.version_id, ()))
        return None


def load(notice: Callable[[str], None]) -> Fingerprints:
    """The fingerprints the configured role can see; none (with a notice) when AWS is out of
    reach, so a scan without credentials still finds keys by their format."""
    out = Fingerprints()
    try:
        from nbsecrets.api import store

        st = store()
        try:
            infos = st.list_keys()
        except AccessDeniedError:
            infos = []
            for provider in st.config.providers.known():
                try:
                    infos.append(st.describe(f"{st.config.prefix}{provider}"))
                except (AccessDeniedError, KeyNotFoundError):
                    continue
    except NbSecretsError as err:
        notice(f"managed keys not checked ({err}); keys are still found by their format.")
        return out
    for info in infos:
        out.add(info.name, info.provider, info.tags.get(fingerprint.TAG), info.stages)
    return out
