"""Template plumbing of `flowctl report`, `board` and `propose`: which templates a
workflow sees, which names are allowed, rendering without tracebacks, and what a
proposal template receives (`proposal_context`, the context the `render` action passes
too: deal, state, workflow, locale, now)."""
from __future__ import annotations

import datetime as dt
import posixpath
from typing import Any

from .diagnostics import Diagnostic, FlowctlError
from .model import Workflow
from .summary import state_summary
from .templating import Templates



def make_templates(workflow_path: str | None, plugins: Any) -> Templates:
    """The templates of a workflow: its own folder first, then plugins', then the
    built-ins (the filters, escaping and sandbox are Templates' own)."""
    return Templates.for_workflow(workflow_path, plugins.template_dirs() if plugins is not None else [])


def check_template_name(name: str) -> str:
    """A template name must stay inside the template folders: no absolute path, no
    `..`, no drive letter or backslash. FlowctlError (exit 2) otherwise."""
    text = str(name)
    parts = text.replace("\\", "/").split("/")
    if (not text or text.startswith(("/", "\\")) or "\\" in text or ".." in parts or ":" in parts[0]
            or posixpath.isabs(text)):
        raise FlowctlError(Diagnostic(text or "(empty)", f"template name {text!r} is refused: give a file name "
                                      "inside the templates folders (no absolute path, no '..')"))
    return text


def render(templates: Templates, name: str, context: dict) -> str:
    """Render a report or proposal template. Whatever goes wrong inside a (company's)
    template is a FlowctlError naming it (exit 2), never a traceback."""
    name = check_template_name(name)
    try:
        return templates.render(name, **context)
    except FlowctlError:
        raise
    except UnicodeDecodeError as exc:
        raise FlowctlError(Diagnostic(name, f"template {name} is not UTF-8 text (byte {exc.start}: {exc.reason})"))
    except RecursionError:
        raise FlowctlError(Diagnostic(name, f"template {name} failed: it calls itself without end"))
    except MemoryError:
        raise FlowctlError(Diagnostic(name, f"template {name} failed: it needs too much memory"))
    except Exception as exc:  # a broken template must not take the command down with a traceback
        raise FlowctlError(Diagnostic(name, f"template {name} failed: {type(exc).__name__}: {exc}"))


# ---------------------------------------------------------------------------------
# proposals
# ---------------------------------------------------------------------------------

def proposal_context(deal: dict, state: Any, workflow: Workflow, locale: str | None, now: dt.date | str) -> dict:
    """What a proposal template receives, from `flowctl propose` and from the `render`
    action alike: the deal as its file says, the state summary (stage, jobs done, …),
    the workflow, the locale and today's date (ISO)."""
    summary = state if isinstance(state, dict) else state_summary(state)
    return {"deal": deal, "state": summary, "workflow": workflow, "locale": locale or workflow.locale,
            "now": now if isinstance(now, str) else now.isoformat()}
