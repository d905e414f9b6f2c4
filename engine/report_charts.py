"""The report's figures put into words for its templates: the formatter of a locale
(numbers, amounts, dates, words), the key-figure cards, and the charts laid out (scales,
ticks, fractions of the plot, legends) for the templates to draw as inline SVG.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from . import i18n
from .catalogs import N_, Words

LEGEND_WIDTH = 740  # px of a legend line in a bar chart (others: 110 more)
MAX_LABEL = 30  # characters of a chart label before it is shortened (the full text is in its tooltip)
OUTCOME_LABELS = {"won": N_("Won"), "lost": N_("Lost")}


# ---------------------------------------------------------------------------------
# formatting in the report's locale
# ---------------------------------------------------------------------------------

class Fmt:
    """Numbers, amounts, dates and words in the report's locale."""

    def __init__(self, locale: str, currency: str, words: Words):
        self.locale, self.currency, self.words = locale, currency, words

    def _(self, message: str, **values: Any) -> str:
        return self.words._(message, **values)

    def ngettext(self, singular: str, plural: str, count: float, **values: Any) -> str:
        return self.words.ngettext(singular, plural, count, **values)

    def pgettext(self, context: str, message: str, **values: Any) -> str:
        return self.words.pgettext(context, message, **values)

    def deals(self, n: Any) -> str:
        return self.ngettext("%(n)s deal", "%(n)s deals", n, n=self.num(n))

    def money(self, value: Any) -> str:
        return i18n.money(value, self.currency, self.locale, whole=True)

    def short(self, value: Any) -> str:
        return i18n.money_short(value, self.currency, self.locale)

    def num(self, value: Any, digits: int = 0) -> str:
        return i18n.number(value, self.locale, digits)

    def pct(self, value: Any, digits: int = 1) -> str:
        return i18n.percent(value, self.locale, digits)

    def days(self, value: Any) -> str:
        return i18n.days(value, self.words, self.locale)

    def month(self, value: Any) -> str:
        return i18n.month(value, self.locale)

    def date(self, value: Any) -> str:
        return i18n.date(value, self.locale)


# ---------------------------------------------------------------------------------
# KPI cards
# ---------------------------------------------------------------------------------

def kpis(c: dict, fmt: Fmt) -> list[dict]:
    o, w, won = c["outcomes"], c["win_rate"], c["cycle"]["won"]
    cards: list[dict[str, str | bool]] = [
        {"id": "open", "label": fmt._("Open pipeline"), "value": fmt.short(o["open"]["amount"]),
         "sub": fmt.ngettext("%(n)s open deal", "%(n)s open deals", o["open"]["count"], n=fmt.num(o["open"]["count"]))},
        {"id": "weighted", "label": fmt._("Weighted pipeline"), "value": fmt.short(c["weighted_pipeline"]),
         "sub": fmt._("amount × probability of open deals")},
        {"id": "won", "label": fmt.pgettext("amount", "Won"), "value": fmt.short(o["won"]["amount"]),
         "sub": fmt.ngettext("%(n)s won deal", "%(n)s won deals", o["won"]["count"], n=fmt.num(o["won"]["count"]))},
        {"id": "win_rate", "label": fmt._("Win rate"), "value": fmt.pct(w["value"]),
         "sub": fmt._("won / (won + lost) = %(won)s / (%(won)s + %(lost)s); open deals are not in it",
                      won=fmt.num(w["won"]), lost=fmt.num(w["lost"]))},
        {"id": "cycle", "label": fmt._("Sales cycle"), "value": fmt.days(won["median"]),
         "sub": fmt.ngettext("median of %(n)s won deal; mean %(mean)s", "median of %(n)s won deals; mean %(mean)s",
                             won["n"], n=fmt.num(won["n"]), mean=fmt.days(won["mean"]))},
    ]
    main = c["forecast"]["main"]
    if main:
        cards.append({"id": "forecast", "label": fmt._("Forecast, next %(days)s days", days=c["forecast"]["horizon_days"]),
                      "value": fmt.short(main["expected"]),
                      "sub": fmt._("%(method)s; P10–P90 %(p10)s – %(p90)s", method=main["label"],
                                   p10=fmt.short(main["p10"]), p90=fmt.short(main["p90"]))})
    cards.append({"id": "stuck", "label": fmt._("Stuck deals"), "value": fmt.num(c["stuck"]["count"]),
                  "sub": fmt._("%(amount)s waiting too long", amount=fmt.short(c["stuck"]["amount"])),
                  "warn": bool(c["stuck"]["count"])})
    cards.append({"id": "rotting", "label": fmt._("Rotting deals"), "value": fmt.num(c["rotting"]["count"]),
                  "sub": fmt._("%(amount)s without recent activity", amount=fmt.short(c["rotting"]["amount"])),
                  "warn": bool(c["rotting"]["count"])})
    return cards


# ---------------------------------------------------------------------------------
# charts: scales and layout (the templates draw them)
# ---------------------------------------------------------------------------------

def nice_max(value: float, ticks: int = 5) -> tuple[float, float]:
    """(axis maximum, tick step): a round step (1, 2, 2.5, 5 x 10^k) whose `ticks`
    steps cover the value."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0, 0.2
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if step * ticks >= value:
            break
    top = step * math.ceil(value / step - 1e-9)
    return top, step


def axis(value: float, fmt_tick: Any, ticks: int = 5, integer: bool = False) -> dict:
    top, step = nice_max(value, ticks)
    if integer:
        step = max(1.0, math.ceil(step))
        top = step * max(1, math.ceil(value / step - 1e-9)) if value > 0 else step * ticks
    n = int(round(top / step))
    return {"max": top, "ticks": [{"value": step * i, "pos": round(step * i / top, 6), "label": fmt_tick(step * i)}
                                  for i in range(n + 1)]}


def _short(text: Any, limit: int = MAX_LABEL) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _frac(value: Any, top: float) -> float:
    if value is None or not top:
        return 0.0
    return round(max(0.0, min(1.0, float(value) / top)), 6)


def charts(c: dict, fmt: Fmt) -> dict:
    out = {"pipeline": _chart_pipeline(c, fmt), "conversion": _chart_conversion(c, fmt), "time": _chart_time(c, fmt),
           "totals": _chart_totals(c, fmt), "months": _chart_months(c, fmt), "quota": _chart_quota(c, fmt),
           "backlog": _chart_backlog(c, fmt)}
    drawn = {k: v for k, v in out.items() if v is not None}
    for chart in drawn.values():
        _layout(chart, LEGEND_WIDTH if "rows" in chart else LEGEND_WIDTH + 110)
    return drawn


def _layout(chart: dict, width: int) -> None:
    """Row slots (a gap before a row with `sep`) and legend positions (wrapped rows)."""
    slot = 0.0
    for row in chart.get("rows") or []:
        if row.get("sep"):
            slot += 0.5
        row["slot"] = slot
        slot += 1
    chart["slots"] = slot
    texts = [len(row.get("text") or "") for row in chart.get("rows") or []]
    chart["right"] = int(min(380, max(110, 7.3 * max(texts + [0]) + 24)))
    x, line = 0, 0
    for item in chart.get("legend") or []:
        size = 30 + 7 * len(item["label"]) + 20
        if x and x + size > width:
            x, line = 0, line + 1
        item["x"], item["line"] = x, line
        x += size
    chart["legend_lines"] = line + 1 if chart.get("legend") else 0


def _desc(rows: Iterable[tuple[str, str]], fmt: Fmt) -> str:
    return "; ".join(fmt._("%(label)s: %(value)s", label=label, value=value) for label, value in rows) + "."


def _chart_pipeline(c: dict, fmt: Fmt) -> dict:
    rows = []
    for s in c["stages"]:
        if s["terminal"]:
            continue
        rows.append({"label": s["label"], "value": s["open_amount"], "class": "open",
                     "text": f"{fmt.short(s['open_amount'])} · {fmt.deals(s['open_count'])}"})
    for key in ("won", "lost"):
        o = c["outcomes"][key]
        rows.append({"label": fmt._(OUTCOME_LABELS[key]), "value": o["amount"], "class": key, "sep": key == "won",
                     "text": f"{fmt.short(o['amount'])} · {fmt.deals(o['count'])}"})
    ax = axis(max([r["value"] for r in rows] + [0]), fmt.short)
    for r in rows:
        r["segments"] = [{"start": 0.0, "width": _frac(r["value"], ax["max"]), "class": r["class"]}]
        r["tooltip"] = f"{r['label']}: {r['text']}"
        r["label"] = _short(r["label"])
    return {"id": "chart-pipeline", "title": fmt._("Open pipeline by stage, with won and lost deals"),
            "x_title": fmt._("Amount (%(currency)s)", currency=fmt.currency),
            "axis": ax, "rows": rows, "desc": _desc(((r["label"], r["text"]) for r in rows), fmt),
            "legend": [{"label": fmt._("Open deals"), "class": "open"}, {"label": fmt._("Won"), "class": "won"},
                       {"label": fmt._("Lost"), "class": "lost"}]}


def _chart_conversion(c: dict, fmt: Fmt) -> dict:
    stages = c["stages"]
    ax = axis(max([s["reached"] for s in stages] + [0]), lambda v: fmt.num(v), integer=True)
    rows = []
    for s in stages:
        text = fmt.deals(s["reached"])
        if s["next"] is not None:
            text += " · " + fmt._("%(pct)s to %(stage)s", pct=fmt.pct(s["conversion"], 0) if s["conversion"] is not None
                                  else fmt._("n/a"), stage=s["next_label"])
        rows.append({"label": _short(s["label"]), "value": s["reached"], "text": text,
                     "tooltip": f"{s['label']}: {text}",
                     "segments": [{"start": 0.0, "width": _frac(s["reached"], ax["max"]),
                                   "class": "won" if s["terminal"] else "open"}]})
    return {"id": "chart-conversion", "title": fmt._("Deals that reached each stage, and conversion to the next"),
            "x_title": fmt._("Deals that reached the stage"), "axis": ax,
            "rows": rows, "desc": _desc(((r["label"], r["text"]) for r in rows), fmt),
            "legend": [{"label": fmt._("Reached"), "class": "open"}, {"label": fmt._("Won"), "class": "won"}]}


def _chart_time(c: dict, fmt: Fmt) -> dict:
    stages = [s for s in c["stages"] if not s["terminal"]]
    top = max([s["median_days"] or 0 for s in stages] + [s["max_days"] or 0 for s in stages] + [0])
    ax = axis(top, lambda v: fmt.num(v), integer=True)
    rows = []
    for s in stages:
        median = s["median_days"]
        text = fmt.days(median) if median is not None else fmt._("n/a")
        if s["max_days"]:
            text += f" / {fmt.days(s['max_days'])}"
        rows.append({"label": _short(s["label"]), "value": median, "text": text, "tooltip": f"{s['label']}: {text}",
                     "segments": [{"start": 0.0, "width": _frac(median, ax["max"]), "class": "over" if s["over"] else "open"}],
                     "marker": _frac(s["max_days"], ax["max"]) if s["max_days"] else None})
    return {"id": "chart-time", "title": fmt._("Median days in stage against the stage's limit"),
            "x_title": fmt._("Days in stage (median)"), "axis": ax, "rows": rows,
            "desc": _desc(((r["label"], r["text"]) for r in rows), fmt),
            "legend": [{"label": fmt._("Median days in stage"), "class": "open"},
                       {"label": fmt._("Median over the limit"), "class": "over"},
                       {"label": fmt._("Limit (max_days)"), "class": "marker"}]}


def _chart_totals(c: dict, fmt: Fmt) -> dict | None:
    f = c["forecast"]
    ok = [t for t in f["totals"] if t.get("expected") is not None]
    if not ok:
        return None
    ax = axis(max(max(t["p90"] or 0, t["expected"] or 0) for t in ok), fmt.short)
    rows = []
    desc: list[tuple[str, str]] = []
    for i, t in enumerate(f["totals"]):
        if t.get("expected") is None:
            continue
        text = f"{fmt.short(t['expected'])}  ({fmt.short(t['p10'])} – {fmt.short(t['p90'])})"
        desc.append((_short(t["label"]), text))
        rows.append({"label": _short(t["label"]), "text": text, "tooltip": f"{t['label']}: {text}",
                     "class": f"m{i}", "band": [_frac(t["p10"], ax["max"]), _frac(t["p90"], ax["max"])],
                     "dot": _frac(t["expected"], ax["max"]), "segments": []})
    return {"id": "chart-totals",
            "title": fmt._("Forecast of revenue won within %(days)s days: expected value and P10–P90 band per method",
                           days=f["horizon_days"]),
            "x_title": fmt._("Revenue (%(currency)s)", currency=fmt.currency), "axis": ax, "rows": rows,
            "desc": _desc(desc, fmt),
            "legend": [{"label": fmt._("Expected"), "class": "dot"}, {"label": fmt._("P10–P90"), "class": "band"}]}


def _chart_months(c: dict, fmt: Fmt) -> dict | None:
    f = c["forecast"]
    if not f["months"] or not f["methods"]:
        return None
    names = [m["name"] for m in f["methods"]]
    top = 0.0
    for m in f["months"]:
        for name in names:
            r = m["methods"].get(name) or {}
            top = max(top, r.get("p90") or 0, r.get("expected") or 0)
    ax = axis(top, fmt.short)
    groups: list[dict[str, object]] = []
    desc = []
    for m in f["months"]:
        bars = []
        for i, name in enumerate(names):
            r = m["methods"].get(name) or {}
            if r.get("expected") is None:
                bars.append({"class": f"m{i}", "missing": True})
                continue
            text = (f"{f['methods'][i]['label']}: {fmt.short(r['expected'])} "
                    f"(P10 {fmt.short(r['p10'])} – P90 {fmt.short(r['p90'])})")
            bars.append({"class": f"m{i}", "value": _frac(r["expected"], ax["max"]), "p10": _frac(r["p10"], ax["max"]),
                         "p90": _frac(r["p90"], ax["max"]), "tooltip": f"{m['long']} – {text}"})
        first = m["methods"].get(names[0]) or {}
        desc.append((m["long"], f"{fmt.deals(m['deals'])}, {fmt._('Expected').lower()} "
                                f"{fmt.short(first.get('expected'))}"))
        year = ""
        if m["key"][:1].isdigit():
            label = i18n.month_abbr(m["key"], fmt.locale)
            if not any(g["year"] for g in groups) or m["key"].endswith("-01"):
                year = m["key"][:4]
        else:
            label = m["label"]
        groups.append({"label": label, "year": year, "sub": fmt.deals(m["deals"]), "bars": bars,
                       "tooltip": f"{m['long']}: {fmt.deals(m['deals'])}, {fmt.money(m['amount'])}"})
    legend = [{"label": fmt._("Expected") + " – " + meth["label"], "class": f"m{i}"}
              for i, meth in enumerate(f["methods"])]
    legend.append({"label": fmt._("P10–P90"), "class": "whisker"})
    return {"id": "chart-months", "title": fmt._("Expected revenue by month of expected close, with P10–P90 bands"),
            "x_title": fmt._("Month of expected close"),
            "y_title": fmt._("Revenue (%(currency)s)", currency=fmt.currency), "axis": ax, "groups": groups,
            "series": len(names), "desc": _desc(desc, fmt), "legend": legend}


def _chart_quota(c: dict, fmt: Fmt) -> dict | None:
    q = c["quota"]
    if not q["owners"]:
        return None
    top = max([1.0] + [r["projected_p90"] or 0 for r in q["owners"]] + [r["projected_attainment"] or 0 for r in q["owners"]])
    ax = axis(min(top, 10.0), lambda v: fmt.pct(v, 0))
    rows = []
    desc: list[tuple[str, str]] = []
    for r in q["owners"]:
        won = _frac(r["attainment"], ax["max"])
        projected = _frac(r["projected_attainment"], ax["max"])
        text = f"{fmt.pct(r['projected_attainment'], 0)} ({fmt.short(r['projected'])} / {fmt.short(r['quota'])})"
        desc.append((_short(r["owner"]), text))
        rows.append({"label": _short(r["owner"]), "text": text,
                     "tooltip": (f"{r['owner']}: {fmt._('Won this quarter')} {fmt.money(r['won'])}, "
                                 f"{fmt._('Forecast to quarter end')} "
                                 f"{fmt.money(r['forecast'])}, {fmt._('Quota')} {fmt.money(r['quota'])}"),
                     "segments": [{"start": 0.0, "width": won, "class": "won"},
                                  {"start": won, "width": max(0.0, projected - won), "class": "forecast"}],
                     "whisker": [_frac(r["projected_p10"], ax["max"]), _frac(r["projected_p90"], ax["max"])]})
    return {"id": "chart-quota", "title": fmt._("Won and forecast revenue as %% of quota, per owner"),
            "x_title": fmt._("%% of quarterly quota"), "axis": ax,
            "rows": rows, "line": _frac(1.0, ax["max"]), "desc": _desc(desc, fmt),
            "legend": [{"label": fmt._("Won this quarter"), "class": "won"},
                       {"label": fmt._("Forecast to quarter end (weighted)"), "class": "forecast"},
                       {"label": fmt._("P10–P90"), "class": "whisker"},
                       {"label": fmt._("Quota (100 %%)"), "class": "line"}]}


def _chart_backlog(c: dict, fmt: Fmt) -> dict | None:
    b = c["backlog"]
    points = b["projection"]
    if b["empty"] or len(points) < 2:
        return None
    ax = axis(max(p["backlog"] for p in points), fmt.short)
    last = points[-1]["week"] or 1
    pts = [{"x": round(p["week"] / last, 6), "y": _frac(p["backlog"], ax["max"]), "week": p["week"],
            "tooltip": f"{fmt._('Week')} {p['week']} ({fmt.date(p['date'])}): {fmt.money(p['backlog'])}"}
           for p in points]
    step = max(1, math.ceil(last / 12))
    xticks = [{"pos": round(w / last, 6), "label": str(w)} for w in range(0, last + 1, step)]
    desc = [(f"{fmt._('Week')} {p['week']}", fmt.short(p["backlog"])) for p in points[:: max(1, len(points) // 6)]]
    return {"id": "chart-backlog", "title": fmt._("Backlog projected over the next %(weeks)s weeks", weeks=last),
            "x_title": fmt._("Weeks from today"),
            "y_title": fmt._("Backlog (%(currency)s)", currency=fmt.currency), "axis": ax, "xticks": xticks, "points": pts,
            "desc": _desc(desc, fmt), "legend": [{"label": fmt._("Projected backlog"), "class": "won"}]}
