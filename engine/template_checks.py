"""What `validate` can see, before any deal is rendered, of the work the sandbox will
refuse or cut short at run time: a template or expression that reaches for Python's
internals (refused for every deal: an error), and one that asks a bounded filter or
`range` for more than its limit in a constant (cut short for every deal: a warning)."""
from __future__ import annotations

from jinja2 import nodes
from jinja2.sandbox import MAX_RANGE

from .expressions import _is_internal
from .sandbox import MAX_WIDTH
from .sandbox_limits import MAX_PIECES

# filter -> the sandbox's limit of its first argument
_BOUNDED = {"slice": MAX_PIECES, "batch": MAX_PIECES, "center": MAX_WIDTH, "indent": MAX_WIDTH, "wordwrap": MAX_WIDTH}


def refused(tree: nodes.Node) -> str | None:
    """Why the sandbox refuses this template for every deal, or None."""
    for node in [tree, *tree.find_all((nodes.Getattr, nodes.Getitem))]:
        if not isinstance(node, (nodes.Getattr, nodes.Getitem)):
            continue
        name = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) else None)
        if name is not None and _is_internal(name):
            return f"it reads '{name}', which the sandbox refuses (no deal value has Python's internals)"
    return None


def runaway(tree: nodes.Node) -> str | None:
    """Why the sandbox will cut this template or expression short for every deal, or None."""
    for node in [tree, *tree.find_all((nodes.Filter, nodes.Call))]:
        if isinstance(node, nodes.Filter):
            limit, what = _BOUNDED.get(node.name), f"`{node.name}`"
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
            limit, what = MAX_RANGE, "`range`"
        else:
            continue
        args = [a.value for a in node.args if isinstance(a, nodes.Const) and isinstance(a.value, int)]
        if limit is not None and any(a > limit for a in args):
            return f"{what} is asked for {max(args):,}, over the sandbox's limit of {limit:,}: it fails for every deal"
    return None
