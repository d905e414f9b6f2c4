"""`extends`: merging a company overlay onto a base workflow, by id.

Every stage, job, gate, metric and notification rule carries `__src__`, the file and
JSON path it came from (and `__fields__` for fields an overlay changed), so that a
problem found after merging still points at the line that caused it.
"""
from __future__ import annotations

from typing import Any

from .diagnostics import Diagnostic, did_you_mean

Src = tuple[str, tuple]
ID_LISTS = ("stages", "metrics", "notifications")
CHILD_LISTS = ("jobs", "gates")
MERGE_MAPS = ("quotas", "fields", "channels", "forecast")
_CONTROL = ("id", "after", "remove", "__src__", "__fields__")


def annotate(doc: dict, file: str) -> dict:
    """Record where each element of a freshly loaded document came from."""
    for key in ID_LISTS:
        for i, item in enumerate(doc.get(key) or []):
            if isinstance(item, dict):
                item["__src__"] = (file, (key, i))
                for child in CHILD_LISTS if key == "stages" else ():
                    for j, sub in enumerate(item.get(child) or []):
                        if isinstance(sub, dict):
                            sub["__src__"] = (file, (key, i, child, j))
    doc["__top__"] = {k: (file, (k,)) for k in doc if not k.startswith("__")}
    return doc


def where(element: dict, field: str | None = None) -> Src:
    """(file, JSON path) of an element, or of one of its fields."""
    if field is not None and field in element.get("__fields__", {}):
        return element["__fields__"][field]
    file, path = element.get("__src__", ("?", ()))
    return (file, path + ((field,) if field is not None else ()))


def duplicate_ids(items: list[dict], diagnostics: list[Diagnostic], what: str) -> None:
    seen: dict[str, dict] = {}
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            continue
        first = seen.get(item["id"])
        if first is not None:
            file, path = where(item, "id")
            ffile, fpath = where(first)
            diagnostics.append(Diagnostic(file, f"duplicate {what} id '{item['id']}' (also at {_describe(ffile, fpath)})", path))
        else:
            seen[item["id"]] = item


def _describe(file: str, path: tuple) -> str:
    from .diagnostics import format_path
    return f"{file} {format_path(path)}"


def merge(base: dict, overlay: dict, diagnostics: list[Diagnostic]) -> dict:
    """The overlay merged onto the base (both already annotated); problems go to diagnostics."""
    result = dict(base)
    result["__top__"] = dict(base.get("__top__", {}))
    for key, value in overlay.items():
        if key.startswith("__") or key == "extends":
            continue
        result["__top__"][key] = overlay["__top__"][key]
        if key == "stages":
            result[key] = _merge_list(base.get(key) or [], value or [], "stage", diagnostics, children=True)
        elif key in ("metrics", "notifications"):
            result[key] = _merge_list(base.get(key) or [], value or [], key[:-1], diagnostics, children=False)
        elif key in MERGE_MAPS and isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = {**base[key], **value}
        else:
            result[key] = value
    return result


def _merge_list(base: list, overlay: list, what: str, diagnostics: list[Diagnostic], children: bool) -> list:
    items = [dict(x) if isinstance(x, dict) else x for x in base]
    for change in overlay:
        if not isinstance(change, dict):
            continue
        ident = change.get("id")
        index = next((i for i, x in enumerate(items) if isinstance(x, dict) and ident is not None and x.get("id") == ident), None)
        known = [str(x["id"]) for x in items if isinstance(x, dict) and x.get("id") is not None]
        if change.get("remove"):
            if index is None:
                file, path = where(change, "id")
                diagnostics.append(Diagnostic(file, f"cannot remove {what} '{ident}': the base workflow has no such {what}{did_you_mean(str(ident), known)}", path))
            else:
                del items[index]
            continue
        if index is None:
            new = {k: v for k, v in change.items() if k not in ("after", "remove")}
            _place(items, new, change, what, diagnostics, known)
            continue
        target = dict(items[index])
        target["__fields__"] = dict(target.get("__fields__", {}))
        for field, value in change.items():
            if field in _CONTROL:
                continue
            if children and field in CHILD_LISTS:
                target[field] = _merge_list(target.get(field) or [], value or [], field[:-1], diagnostics, children=False)
            else:
                target[field] = value
                target["__fields__"][field] = where(change, field)
        if "after" in change:
            del items[index]
            _place(items, target, change, what, diagnostics, [k for k in known if k != ident])
        else:
            items[index] = target
    return items


def _place(items: list, new: dict, change: dict, what: str, diagnostics: list[Diagnostic], known: list) -> None:
    after = change.get("after")
    if after is not None:
        pos = next((i for i, x in enumerate(items) if isinstance(x, dict) and x.get("id") == after), None)
        if pos is not None:
            items.insert(pos + 1, new)
            return
        file, path = where(change, "after")
        diagnostics.append(Diagnostic(file, f"after: no {what} '{after}' to place '{change.get('id')}' after{did_you_mean(str(after), known)}", path))
        # and placed as if it had no `after:`, so this is the only problem reported
    # A new stage without `after:` goes before a terminal last stage, not after it.
    if what == "stage" and items and isinstance(items[-1], dict) and items[-1].get("terminal") and not new.get("terminal"):
        items.insert(len(items) - 1, new)
    else:
        items.append(new)


def strip(value: Any) -> Any:
    """The merged document without provenance keys (for --show-merged)."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value
