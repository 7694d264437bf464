"""``nbsecrets scan``: the walk, the scan of each document, progress, the report, the exit code.

Exit status: 0 when nothing was found, 1 when a key was found, 2 when nothing was found but a
file or the history could not be read (the scan is then not known to be clean).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from nbsecrets.leakscan import walk
from nbsecrets.leakscan.engine import Finding, Matcher, scan_bytes
from nbsecrets.leakscan.fix import fixed_bytes, write_fixed
from nbsecrets.leakscan.report import json_report, sarif_report, text_line

__all__ = ["Options", "main"]

FORMATS = ("text", "json", "sarif")


@dataclass(frozen=True)
class Options:
    """What ``nbsecrets scan`` was asked to do."""

    paths: tuple[str, ...] = (".",)
    git: bool = False
    fix: bool = False
    format: str = "text"


@dataclass
class _Progress:
    """A status line on a terminal (stderr), redrawn at most every 0.2 s; nothing otherwise."""

    stream: TextIO | None
    unit: str
    shown: bool = False
    last: float = 0.0

    def update(self, done: int, total: int | None, found: int, *, final: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        of = f"/{total}" if total else ""
        self.stream.write(f"\r{done}{of} {self.unit} scanned, {found} found")
        self.shown = True
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _progress(fmt: str, stream: TextIO, unit: str) -> _Progress:
    on = fmt == "text" and hasattr(stream, "isatty") and stream.isatty()
    return _Progress(stream if on else None, unit)


@dataclass
class _Scan:
    opts: Options
    matcher: Matcher
    err: TextIO
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    file_lines: dict[int, int] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)

    def document(self, path: str, data: bytes, commit: str | None = None) -> None:
        result = scan_bytes(path, data, self.matcher)
        self.notes.extend(result.notes)
        for f in result.findings:
            f.commit = commit
            if result.notebook:
                self.file_lines[id(f)] = _file_line(data, f.value)
        self.findings.extend(result.findings)
        if self.opts.fix and result.findings and commit is None:
            self._fix(path, data, result.findings)

    def _fix(self, path: str, data: bytes, found: list[Finding]) -> None:
        new = fixed_bytes(path, data, found)
        if new is None:
            self.errors.append(
                f"{path}: --fix could not replace the keys found (they are "
                "only in a decoded form); edit the file by hand."
            )
            return
        try:
            backup = write_fixed(path, data, new)
        except OSError as err:
            self.errors.append(f"{path}: not fixed ({err.strerror or err}); nothing changed.")
            return
        left = scan_bytes(path, new, self.matcher).findings
        self.fixed.append(
            f"{path}: {len(found) - len(left)} of {len(found)} replaced by "
            f"[REDACTED:provider]; backup at {backup}"
        )
        if left:
            self.errors.append(
                f"{path}: {len(left)} finding(s) left after --fix (first: "
                f"line {left[0].line}); edit them by hand."
            )


def _file_line(data: bytes, value: str) -> int:
    """The line of the file where ``value`` is written as JSON would write it (1 if it is
    only there encoded)."""
    form = json.dumps(value)[1:-1].encode("utf-8", "surrogatepass")
    at = data.find(form) if form else -1
    return data.count(b"\n", 0, at) + 1 if at >= 0 else 1


def _rotate_lines(findings: Sequence[Finding]) -> list[str]:
    out = []
    for f in findings:
        if f.kind == "managed" and f.secret:
            line = f"{f.secret} leaked: rotate it with `nbsecrets rotate {f.provider}`"
            if line not in out:
                out.append(line)
    return out


def main(
    opts: Options,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    matcher: Matcher | None = None,
    load: Callable[[Callable[[str], None]], Matcher] | None = None,
) -> int:
    """Run a scan and print its report; return the exit status (0, 1 or 2)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if opts.format not in FORMATS:
        print(f"nbsecrets scan: --format is one of {', '.join(FORMATS)}.", file=err)
        return 2
    if opts.git and opts.fix:
        print(
            "nbsecrets scan: --fix rewrites files, not history; run it without --git, then "
            "rotate the keys found in history.",
            file=err,
        )
        return 2
    notices: list[str] = []
    if matcher is None:
        if load is None:
            from nbsecrets.leakscan.managed import load as load_fingerprints

            load = load_fingerprints
        matcher = load(notices.append)
    scan = _Scan(opts, matcher, err)
    if opts.git:
        _scan_git(scan, opts, err)
    else:
        _scan_files(scan, opts, err)
    findings = scan.findings
    if opts.format == "json":
        print(json_report(findings, scan.errors), file=out)
    elif opts.format == "sarif":
        print(sarif_report(findings, scan.errors, scan.file_lines), file=out)
    else:
        for line in notices + scan.notes:
            print(f"nbsecrets scan: {line}", file=err)
        for f in findings:
            print(text_line(f), file=out)
        for line in scan.fixed + _rotate_lines(findings):
            print(line, file=out)
        for line in scan.errors:
            print(f"nbsecrets scan: {line}", file=err)
        managed = sum(f.kind == "managed" for f in findings)
        print(
            f"{len(findings)} key(s) found ({managed} managed)" if findings else "no keys found",
            file=out,
        )
    if findings:
        return 1
    return 2 if scan.errors else 0


def _scan_files(scan: _Scan, opts: Options, err: TextIO) -> None:
    progress = _progress(opts.format, err, "files")
    done = 0
    for path in walk.files(list(opts.paths) or ["."]):
        try:
            data = walk.read(path)
        except OSError as exc:
            scan.errors.append(f"{path}: not readable ({exc.strerror or exc}); skipped.")
            continue
        scan.document(path, data)
        done += 1
        progress.update(done, None, len(scan.findings))
    if progress.shown:
        progress.update(done, None, len(scan.findings), final=True)


def _scan_git(scan: _Scan, opts: Options, err: TextIO) -> None:
    progress = _progress(opts.format, err, "commits")
    repos = list(opts.paths) or ["."]
    for repo in repos:
        done = total = 0
        try:
            for commit, path, data, done, total in walk.git_blobs(repo):
                scan.document(path, data, commit)
                progress.update(done, total, len(scan.findings))
        except (walk.GitError, OSError) as exc:
            scan.errors.append(str(exc))
        if progress.shown:
            progress.update(total, total, len(scan.findings), final=True)
