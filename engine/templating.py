"""Jinja2 templates for messages, proposals and reports, rendered in the sandbox.

Folders are searched in order: the company's `templates/` beside its workflow, then
plugins' folders (the built-in templates are a plugin too). Template names cannot
leave their folder; deal values are passed as data and HTML-escaped in .html templates.

Each operation is bounded by the sandbox (`sandbox.SafeEnvironment`); a whole
rendering is bounded too: in time (`FLOWCTL_TEMPLATE_SECONDS`, default 3 s, see
`sandbox_budget`) and in output (MAX_OUTPUT characters).
Whatever goes wrong in a template is a FlowctlError naming it, never a traceback.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2
from jinja2 import select_autoescape

from . import sandbox_budget
from .catalogs import COMPANY_FOLDER, Catalogs
from .diagnostics import Diagnostic, FlowctlError
from .sandbox import MAX_OUTPUT, SafeEnvironment


class TemplateOutputTooLarge(Exception):
    """A rendering produced more than MAX_OUTPUT characters."""


def _within_budget() -> tuple[sandbox_budget.time_budget, sandbox_budget.budget]:
    """The time budget of one rendering (FLOWCTL_TEMPLATE_SECONDS): checked by the
    sandbox's steps in any thread, and by SIGALRM in the main thread."""
    seconds = sandbox_budget.seconds("template")
    return sandbox_budget.time_budget(seconds), sandbox_budget.budget(seconds, "template")


def _bounded_text(template: jinja2.Template, context: dict) -> str:
    """Render chunk by chunk, stopping once the text passes MAX_OUTPUT characters."""
    parts = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateOutputTooLarge(f"the text passed {MAX_OUTPUT:,} characters")
        parts.append(chunk)
    return "".join(parts)


def _short(filename: str, folders: list[str]) -> str:
    for folder in folders:
        if filename.startswith(folder.rstrip(os.sep) + os.sep):
            return filename[len(folder.rstrip(os.sep)) + 1:]
    return filename


def _where(exc: BaseException, top: str | None) -> tuple[int | None, str | None, int | None]:
    """(line in the top template, other template, line in it) of the deepest template
    frame of the exception's traceback, as far as it can be told."""
    line = other = other_line = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:  # a frame of compiled template code: map its line
            filename, lineno = template.filename, template.get_corresponding_lineno(tb.tb_lineno)
        elif "__jinja_exception__" in frame.f_globals:  # a frame Jinja2 rewrote: already the template's line
            filename, lineno = frame.f_code.co_filename, tb.tb_lineno
        else:
            tb = tb.tb_next
            continue
        if filename == top:
            line, other, other_line = lineno, None, None
        else:
            other, other_line = filename, lineno
        tb = tb.tb_next
    return line, other, other_line


class OutsideLink(jinja2.TemplateNotFound):
    """A template whose real path is outside the folder it was found in: no template."""

    WHY = "a link to a file outside the template folders"


class ContainedLoader(jinja2.FileSystemLoader):
    """FileSystemLoader that refuses a template whose real path (symlinks followed) is
    outside the folder it was found in: a link in templates/ to /etc/passwd or to
    another company's folder is "no template", not its content."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        if not any(real.startswith(os.path.join(os.path.realpath(folder), "")) for folder in self.searchpath):
            raise OutsideLink(template, f"{template} ({OutsideLink.WHY})")
        return source, filename, uptodate


class BrokenTemplate(FlowctlError):
    """The template itself is wrong (syntax, a missing template): the same for every
    deal, so the workflow's problem (exit 2), not one message's."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"UnicodeDecodeError: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    if isinstance(exc, RecursionError):
        return f"RecursionError: {exc} (a macro, loop or include that calls itself?)"
    text = str(exc) or ("out of memory" if type(exc) is MemoryError else "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _leaves_folder(name: str) -> bool:
    return name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name[:3]


# `proposal.html.j2` is HTML: select_autoescape looks at the name's ending, `.j2` included.
AUTOESCAPE = select_autoescape(enabled_extensions=("html", "htm", "xml", "svg", "html.j2", "htm.j2", "xml.j2", "svg.j2"),
                               default_for_string=False)


class Templates:
    def __init__(self, folders: Iterable[str | os.PathLike], catalogs: Catalogs | None = None):
        self.folders = [str(f) for f in folders if Path(f).is_dir()]
        self.catalogs = catalogs if catalogs is not None else Catalogs()
        self.env = SafeEnvironment(
            loader=ContainedLoader(self.folders),
            autoescape=AUTOESCAPE,
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
            extensions=["jinja2.ext.i18n"],
        )
        self.env.policies["ext.i18n.trimmed"] = True  # babel.cfg extracts with `trimmed` too
        from . import i18n
        i18n.install(self.env, self.catalogs)  # words, money, dates and numbers for the locale, in every template

    @classmethod
    def for_workflow(cls, workflow_path: str | None, plugin_dirs: Iterable[Path]) -> "Templates":
        folders: list[str | os.PathLike] = []
        catalogs: list[Path] = []
        if workflow_path:
            here = Path(workflow_path).resolve().parent
            folders.append(here / "templates")
            catalogs.append(here / COMPANY_FOLDER)
        folders.extend(plugin_dirs)
        return cls(folders, Catalogs(catalogs))

    def _not_found(self, exc: jinja2.TemplateNotFound, name: str, template: jinja2.Template | None) -> FlowctlError:
        missing = [str(n) for n in getattr(exc, "templates", None) or [exc.name]]
        names = " or ".join(f"'{n}'" for n in missing)
        message = f"no template named {names} in {', '.join(self.folders) or 'any folder'}"
        if missing != [name]:  # an include, import or extends in the template names it
            message = f"template {name} failed: {message}"
        if any(_leaves_folder(n) for n in missing):
            message += " (template names cannot leave their folder: no '..', no absolute path)"
        if isinstance(exc, OutsideLink):
            message += f" ('{exc.name}' is {OutsideLink.WHY})"
        line = _where(exc, template.filename)[0] if template is not None else None
        return BrokenTemplate(Diagnostic(name, message, line=line, column=1 if line else None))

    def render(self, name: str, **context: Any) -> str:
        """Render a template by name; a missing or broken template is a FlowctlError."""
        template = None
        try:
            alarm, steps = _within_budget()
            with alarm, steps:
                template = self.env.get_template(name)
                return _bounded_text(template, context)
        except jinja2.TemplateNotFound as exc:
            raise self._not_found(exc, name, template) from None
        except jinja2.TemplateSyntaxError as exc:
            raise BrokenTemplate(Diagnostic(exc.filename or exc.name or name, f"template syntax error: {exc.message}",
                                          line=exc.lineno, column=1)) from None
        except Exception as exc:  # every failure of a template is the template's: never a traceback
            line, other, other_line = _where(exc, template.filename if template is not None else None)
            where = f" (in {_short(other, self.folders)}, line {other_line})" if other else ""
            raise FlowctlError(Diagnostic(name, f"template {name} failed: {_describe(exc)}{where}",
                                          line=line, column=1 if line else None)) from None

    def render_string(self, source: str, **context: Any) -> str:
        """Render a short template written in the workflow (a subject, a recipient)."""
        shown = source if len(source) <= 80 else source[:77] + "..."
        try:
            alarm, steps = _within_budget()
            with alarm, steps:
                return _bounded_text(self.env.from_string(source), context)
        except jinja2.TemplateNotFound as exc:
            missing = " or ".join(f"'{n}'" for n in (getattr(exc, "templates", None) or [exc.name]))
            raise BrokenTemplate(Diagnostic("workflow", f"template {shown!r} failed: no template named {missing}")) from None
        except jinja2.TemplateSyntaxError as exc:
            raise BrokenTemplate(Diagnostic("workflow", f"template {shown!r} failed: {_describe(exc)}")) from None
        except Exception as exc:  # TemplateError, SecurityError, and whatever else: never a traceback
            raise FlowctlError(Diagnostic("workflow", f"template {shown!r} failed: {_describe(exc)}")) from None
