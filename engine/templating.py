"""Jinja2 templates for messages, proposals and reports, rendered in the sandbox.

Folders are searched in order: the company's `templates/` beside its workflow, then
plugins' folders (the built-in templates are a plugin too). Template names cannot
leave their folder; deal values are passed as data and HTML-escaped in .html templates.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import jinja2
from jinja2 import select_autoescape

from .diagnostics import Diagnostic, FlowctlError
from .expressions import SafeEnvironment


class Templates:
    def __init__(self, folders: Iterable[str | os.PathLike]):
        self.folders = [str(f) for f in folders if Path(f).is_dir()]
        self.env = SafeEnvironment(
            loader=jinja2.FileSystemLoader(self.folders),
            autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"), default_for_string=False),
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )

    @classmethod
    def for_workflow(cls, workflow_path: str | None, plugin_dirs: Iterable[Path]) -> "Templates":
        folders: list[str | os.PathLike] = []
        if workflow_path:
            folders.append(Path(workflow_path).resolve().parent / "templates")
        folders.extend(plugin_dirs)
        return cls(folders)

    def add_filters(self, **filters: Any) -> None:
        self.env.filters.update(filters)

    def render(self, name: str, **context: Any) -> str:
        """Render a template by name; a missing or broken template is a FlowctlError."""
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateNotFound:
            raise FlowctlError(Diagnostic(name, f"no template named '{name}' in {', '.join(self.folders) or 'any folder'}"))
        except jinja2.TemplateSyntaxError as exc:
            raise FlowctlError(Diagnostic(exc.filename or name, f"template syntax error: {exc.message}", line=exc.lineno, column=1))
        except (jinja2.TemplateError, jinja2.sandbox.SecurityError) as exc:
            raise FlowctlError(Diagnostic(name, f"template failed: {type(exc).__name__}: {exc}"))

    def render_string(self, source: str, **context: Any) -> str:
        """Render a short template written in the workflow (a subject, a recipient)."""
        try:
            return self.env.from_string(source).render(**context)
        except (jinja2.TemplateError, jinja2.sandbox.SecurityError) as exc:
            raise FlowctlError(Diagnostic("workflow", f"template {source!r} failed: {type(exc).__name__}: {exc}"))
