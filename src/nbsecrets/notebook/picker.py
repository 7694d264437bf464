"""The key picker: an ipywidgets panel to see, load and store keys, over :mod:`nbsecrets.api`.

``%aikey`` with no arguments shows it in a notebook (``nbsecrets.picker()`` returns it). It holds
no AWS logic: it lists with ``api.list_keys``, loads with ``api.load_keys``, stores with
``api.store_key``, reads ``api.loaded``, and shows errors as ``str(NbSecretsError)``, the same
sentence ``%aikey`` prints.

Each row is one key, with one of these statuses:

- ``loaded``: this kernel loaded it and its variables are still set;
- ``available``: the secret is listed under the prefix and can be loaded;
- ``missing``: a provider named in the config file's ``[providers]`` table has no secret under
  the prefix (the built-in registry is too long to list what is absent); store one below;
- ``unlisted``: the role may not list secrets (e.g. a policy made with ``--no-list``), so a
  provider from ``[providers]`` is shown without knowing whether its secret exists; it can
  still be loaded.

No value ever enters a widget trait: the new key's password field is cleared the moment it is
read, before any AWS call, and never echoed back to the front end.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import ipywidgets as widgets
from traitlets import Unicode

from nbsecrets import api
from nbsecrets.aws.records import SecretVersion
from nbsecrets.errors import NbSecretsError
from nbsecrets.providers import Registry
from nbsecrets.report import age_days, day, loaded_line, rotation_text, stored_line

__all__ = ["MAX_AGE_DAYS", "KeyPicker", "Row", "SecretField", "age_warning", "build_rows", "picker"]

MAX_AGE_DAYS = 90
COLUMNS = ("provider", "status", "variables", "secret", "last changed", "rotation")
_COLORS = {"loaded": "#1a7f37", "available": "#0969da", "missing": "#9a6700", "unlisted": "#57606a"}
_MESSAGE_COLORS = {"info": "#57606a", "ok": "#1a7f37", "error": "#cf222e"}


class SecretField(widgets.Password):
    """A stock password box whose value is never echoed back to the front end.

    ipywidgets 8 echoes every value a front end sends to all front ends; for a key being
    typed that would put it on the kernel's IOPub channel, so this trait opts out.
    """

    value = Unicode("", help="The key being typed; cleared as soon as it is read.").tag(
        sync=True, echo_update=False
    )


@dataclass(frozen=True)
class Row:
    """One key shown in the picker (never its value)."""

    label: str  # the provider
    name: str  # what load_keys is given: ``openai`` or ``openai=SECRET_ID``
    secret: str
    env_vars: tuple[str, ...]
    status: str  # loaded, available, missing or unlisted
    last_changed: datetime | None
    loadable: bool
    rotation: str = "-"  # on, last DATE / on, not yet / off
    mode: str = "key"  # or "federated": short-lived tokens instead of a key

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.secret)


def age_warning(when: datetime | None, now: datetime | None = None) -> str:
    """A short warning when ``when`` is more than :data:`MAX_AGE_DAYS` ago, else ``""``."""
    days = age_days(when, now)
    if days is None or days <= MAX_AGE_DAYS:
        return ""
    return f"{days} days old: rotate it"


def build_rows(
    listing: Sequence[api.KeyStatus] | None,
    loaded: dict[str, tuple[tuple[str, ...], SecretVersion]],
    registry: Registry,
    prefix: str,
) -> list[Row]:
    """The picker's rows, from the listing (None when it failed), what is loaded and the config.

    Pure: no AWS call.
    """
    rows: list[Row] = []
    for status in listing or ():
        info = status.info
        label = registry.get(info.provider).name
        rec = loaded.get(label)
        is_loaded = rec is not None and rec[1].name == info.name
        name = label if info.name == f"{prefix}{label}" else f"{label}={info.name}"
        rows.append(
            Row(
                label,
                name,
                info.name,
                rec[0] if rec and is_loaded else status.env_vars,
                "loaded" if is_loaded else "available",
                info.last_changed,
                True,
                rotation_text(info),
                status.mode,
            )
        )
    shown = {r.key for r in rows}
    for label, (env_vars, secret) in loaded.items():
        if (label, secret.name) not in shown:
            # Loaded from a secret outside the listing (an ARN, a bundle#field): shown, but
            # reloading it needs the reference it was loaded with.
            rows.append(Row(label, label, secret.name, env_vars, "loaded", secret.created, False))
    labels = {r.label for r in rows}
    for name in registry.configured:
        provider = registry.get(name)
        if provider.name not in labels:
            labels.add(provider.name)
            rows.append(
                Row(
                    provider.name,
                    provider.name,
                    f"{prefix}{provider.name}",
                    provider.env_vars,
                    "missing" if listing is not None else "unlisted",
                    None,
                    listing is None,
                )
            )
    return sorted(rows, key=lambda r: (r.label, r.secret))


def _text(s: str) -> str:
    return html.escape(s, quote=False)


class KeyPicker(widgets.VBox):
    """See, load and store keys. Build it with :func:`picker`.

    The parts are attributes so code (and tests) can drive it: tick ``checkbox(label)``, then
    ``load_button.click()``; or set ``provider_field.value`` and ``secret_field.value`` and
    ``store_button.click()``. ``message`` is the status line's plain text.
    """

    def __init__(self, **kwargs: object) -> None:
        self._rows: list[Row] = []
        self._listing: list[api.KeyStatus] | None = None
        self._listing_error = ""
        self._selected: set[tuple[str, str]] = set()
        self._checkboxes: dict[tuple[str, str], widgets.Checkbox] = {}
        self.message = ""
        self.title = widgets.HTML()
        self.grid = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns=f"repeat({len(COLUMNS)}, max-content)",
                grid_gap="4px 18px",
                align_items="center",
                margin="4px 0 8px 0",
            )
        )
        self.load_button = widgets.Button(
            description="Load selected",
            button_style="primary",
            icon="download",
            disabled=True,
            tooltip="Load the ticked keys in one request",
        )
        self.refresh_button = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="List the keys again; the next load reads their current values",
        )
        self.provider_field = widgets.Combobox(
            placeholder="provider, e.g. openai",
            ensure_option=False,
            layout=widgets.Layout(width="180px"),
        )
        # continuous_update: the value must be in the kernel by the time "Store" is clicked.
        # With updates on blur only, the click could overtake the value and store nothing.
        self.secret_field = SecretField(
            placeholder="new key (hidden, cleared after use)",
            continuous_update=True,
            layout=widgets.Layout(width="280px"),
        )
        self.store_button = widgets.Button(
            description="Store and load",
            icon="upload",
            tooltip="Store the key as the new current version, then load it",
        )
        self.status = widgets.HTML()
        for part, css in (
            (self.load_button, "load"),
            (self.refresh_button, "refresh"),
            (self.provider_field, "provider"),
            (self.secret_field, "secret"),
            (self.store_button, "store"),
            (self.status, "status"),
            (self.grid, "grid"),
        ):
            part.add_class(f"nbsecrets-{css}")
        self.load_button.on_click(self._on_load)
        self.refresh_button.on_click(self._on_refresh)
        self.store_button.on_click(self._on_store)
        store_box = widgets.HBox(
            [widgets.Label("New key:"), self.provider_field, self.secret_field, self.store_button]
        )
        super().__init__(
            children=[
                self.title,
                self.grid,
                widgets.HBox([self.load_button, self.refresh_button]),
                store_box,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("nbsecrets-picker")
        self._on_refresh()

    # -- what it shows -------------------------------------------------------------------

    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def checkbox(self, label: str, secret: str | None = None) -> widgets.Checkbox:
        """The checkbox of the row for provider ``label`` (and ``secret``, if several)."""
        for (row_label, row_secret), box in self._checkboxes.items():
            if row_label == label and secret in (None, row_secret):
                return box
        raise KeyError(label)

    def row(self, label: str) -> Row:
        return next(r for r in self._rows if r.label == label)

    def __repr__(self) -> str:
        if not self._rows:
            return f"KeyPicker({self._listing_error or 'no keys'})"
        return "KeyPicker(" + ", ".join(f"{r.label}: {r.status}" for r in self._rows) + ")"

    def _say(self, lines: str | Sequence[str], kind: str = "info") -> None:
        lines = [lines] if isinstance(lines, str) else list(lines)
        lines += api.take_notices()
        self.message = "\n".join(lines)
        spinner = '<i class="fa fa-spinner fa-spin"></i> ' if kind == "info" and lines else ""
        body = "<br>".join(_text(line) for line in lines)
        self.status.value = (
            (f'<div style="color:{_MESSAGE_COLORS[kind]}">{spinner}{body}</div>') if lines else ""
        )

    def _render(self) -> None:
        try:
            cfg = api.store().config
            prefix, registry = cfg.prefix, cfg.providers
        except NbSecretsError as exc:
            self._rows = []
            self._listing_error = str(exc)
            self.title.value = "<b>AI provider keys</b>"
            self._set_grid([])
            return
        self._rows = build_rows(self._listing, api.loaded(), registry, prefix)
        self.provider_field.options = tuple(registry.known())
        where = f"<code>{_text(prefix)}</code>"
        try:
            where += f" in {_text(api.store().region)}"
        except NbSecretsError:
            pass
        self.title.value = f"<b>AI provider keys</b> under {where}"
        live = {r.key for r in self._rows if r.loadable}
        self._selected &= live
        cells: list[widgets.Widget] = [widgets.HTML(f"<b>{c}</b>") for c in COLUMNS]
        self._checkboxes = {}
        for row in self._rows:
            box = widgets.Checkbox(
                value=row.key in self._selected,
                description=row.label,
                indent=False,
                disabled=not row.loadable,
                layout=widgets.Layout(width="max-content"),
            )
            box.add_class(f"nbsecrets-row-{row.label}")
            box.observe(self._on_tick(row.key), "value")
            self._checkboxes[row.key] = box
            warning = age_warning(row.last_changed)
            changed = _text(day(row.last_changed))
            if warning:
                changed += f' <span style="color:#cf222e">&#9888; {_text(warning)}</span>'
            if row.status == "missing":
                changed = "no secret yet: store one below"
            cells += [
                box,
                widgets.HTML(
                    f'<span style="color:{_COLORS[row.status]};font-weight:600">'
                    f"{row.status}</span>"
                    + (" <i>federated</i>" if row.mode == "federated" else "")
                ),
                widgets.HTML("<code>" + _text(", ".join(row.env_vars)) + "</code>"),
                widgets.HTML(_text(row.secret)),
                widgets.HTML(changed),
                widgets.HTML(_text(row.rotation)),
            ]
        self._set_grid(cells if self._rows else [])
        self._update_load_button()

    def _set_grid(self, cells: list[widgets.Widget]) -> None:
        old = self.grid.children
        self.grid.children = cells
        for cell in old:
            cell.close()

    def _on_tick(self, key: tuple[str, str]):
        def handler(change: dict) -> None:
            (self._selected.add if change["new"] else self._selected.discard)(key)
            self._update_load_button()

        return handler

    def _update_load_button(self) -> None:
        n = len(self._selected)
        self.load_button.description = f"Load selected ({n})" if n else "Load selected"
        self.load_button.disabled = n == 0

    @contextmanager
    def _busy(self, message: str) -> Iterator[None]:
        for button in (self.load_button, self.refresh_button, self.store_button):
            button.disabled = True
        self._say(message)
        try:
            yield
        except Exception as exc:  # a bug, not an AWS answer: say so rather than spin forever
            self._say(
                f"Unexpected {type(exc).__name__} in the key picker; run the same with "
                "%aikey to see the details.",
                "error",
            )
        finally:
            self.refresh_button.disabled = False
            self.store_button.disabled = False
            self._update_load_button()

    def _list(self) -> None:
        try:
            self._listing = api.list_keys()
            self._listing_error = ""
        except NbSecretsError as exc:
            self._listing = None
            self._listing_error = str(exc)

    # -- actions -------------------------------------------------------------------------

    def _on_refresh(self, _button: object = None) -> None:
        with self._busy("Listing keys…"):
            if _button is not None:  # a click: the next load reads fresh values too
                api.store().forget()
            self._list()
            self._render()
        if self._listing_error:
            self._say(self._listing_error, "error")
        elif not self._rows:
            self._say("No keys under the prefix yet; store one below.", "ok")
        else:
            self._say([])

    def _on_load(self, _button: object = None) -> None:
        chosen = [r for r in self._rows if r.key in self._selected and r.loadable]
        if not chosen:
            self._say("Tick at least one key to load.", "error")
            return
        with self._busy(f"Loading {', '.join(r.label for r in chosen)}…"):
            try:
                results = api.load_keys([r.name for r in chosen])
                region = api.store().region
            except NbSecretsError as exc:
                self._say(str(exc), "error")
                return
            self._selected.clear()
            self._render()
            self._say([loaded_line(key, env_vars, region) for key, env_vars in results], "ok")

    def _on_store(self, _button: object = None) -> None:
        value = self.secret_field.value
        self.secret_field.value = ""  # out of the widget model before anything else happens
        name = self.provider_field.value.strip()
        if not name:
            del value
            self._say(
                "Name the provider to store a key for, e.g. openai; nothing was stored.", "error"
            )
            return
        with self._busy(f"Storing {name}…"):
            try:
                provider = api.store().config.providers.get(name).name
                version = api.store_key(provider, value)
                del value
                results = api.load_keys([provider], refresh=True)
                region = api.store().region
            except NbSecretsError as exc:
                self._say(str(exc), "error")
                return
            self.provider_field.value = ""
            self._list()
            self._render()
            lines = [stored_line(provider, version)]
            lines += [loaded_line(key, env_vars, region) for key, env_vars in results]
            if self._listing_error:
                lines.append(self._listing_error)
            self._say(lines, "ok")


def picker() -> KeyPicker:
    """The key picker widget: see the keys the role can list, load some, store a new one.

    Returns
    -------
    KeyPicker
        An ipywidgets ``VBox``; display it (it is the value of a cell, or ``display(...)``).
    """
    return KeyPicker()
