"""`routeshift status --format html`: one self-contained page with progress bars."""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

from routeshift.report.progress import (
    UNREGISTERED,
    BlueprintProgress,
    MethodProgress,
    Progress,
    RouteProgress,
    Tally,
)
from routeshift.report.words import generated_text, handler_word, pct, verified_word

if TYPE_CHECKING:
    from routeshift.store import Verification


# --- html -----------------------------------------------------------------------------

#: the bar's segments, most advanced first: (css class, legend)
_SEGMENTS = (
    ("verified", "modern, verified"),
    ("modern", "modern, not verified"),
    ("canary", "canary"),
    ("shadow", "shadow"),
    ("legacy", "legacy"),
    ("unregistered", "unregistered"),
)

_CSS = """
:root{--ink:#1f2328;--muted:#656d76;--line:#d0d7de;--panel:#f6f8fa;
--verified:#1a7f37;--modern:#4ac26b;--canary:#d4a72c;--shadow:#8250df;
--legacy:#afb8c1;--unregistered:#cf222e}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--ink);
font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:32px 24px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:0;display:flex;justify-content:space-between;gap:16px}
h2 small{font-weight:400;color:var(--muted);font-size:13px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.sub{color:var(--muted);margin:0 0 24px}
.overall{border:1px solid var(--line);border-radius:8px;padding:20px;background:var(--panel)}
.figures{display:grid;grid-template-columns:repeat(4,1fr);gap:16px;margin-bottom:18px}
.figure b{display:block;font-size:30px;line-height:1.1}
.figure span{color:var(--muted)}
.figure.alarm b{color:var(--unregistered)}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:var(--line)}
.overall .bar{height:22px;border-radius:11px}
.bar i{display:block;height:100%}
.bar i+i{border-left:1px solid #fff}
.verified{background:var(--verified)}.modern{background:var(--modern)}
.canary{background:var(--canary)}.shadow{background:var(--shadow)}
.legacy{background:var(--legacy)}.unregistered{background:var(--unregistered)}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;margin:12px 0 0;
color:var(--muted);font-size:13px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
section.blueprint{margin-top:28px}
section.blueprint .bar{margin:8px 0 4px}
table{width:100%;border-collapse:collapse;margin-top:8px;table-layout:fixed}
td code{overflow-wrap:anywhere}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;
letter-spacing:.04em;border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid #eaeef2;padding:6px 8px;vertical-align:top}
td.c,th.c{text-align:center}
td small{display:block;color:var(--muted);font-size:12px}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;color:#fff;
margin:1px 4px 1px 0;white-space:nowrap}
.pill.legacy{color:var(--ink)}
.pill.canary{color:var(--ink)}
.no{color:var(--muted)}
.ok{color:var(--verified);font-weight:600}
.bad{color:var(--unregistered);font-weight:600}
tr.unregistered td{background:#fff5f5}
footer{margin-top:32px;color:var(--muted);font-size:12px}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def format_status_html(progress: Progress) -> str:
    """One self-contained page (inline CSS, no scripts, no external assets)."""
    methods, routes = progress.by_method, progress.by_route
    figures = [
        (
            pct(methods.modern_percent),
            f"route methods modern, {methods.modern} of {methods.total}",
        ),
        (pct(routes.modern_percent), f"routes modern, {routes.modern} of {routes.total}"),
        (
            pct(methods.verified_percent),
            f"of modern methods verified, {methods.verified} of {methods.modern}",
        ),
        (str(methods.unregistered), "route methods unregistered"),
    ]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>routeshift status: {_esc(pct(methods.modern_percent))} modern</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Migration status</h1>",
        f'<p class="sub"><code>{_esc(progress.legacy_app)}</code> &rarr; '
        f"<code>{_esc(progress.modern_app)}</code> &middot; {_esc(generated_text(progress))}</p>",
        '<section class="overall"><div class="figures">',
    ]
    for index, (big, words) in enumerate(figures):
        alarm = " alarm" if index == 3 and methods.unregistered else ""
        parts.append(
            f'<div class="figure{alarm}"><b>{_esc(big)}</b><span>{_esc(words)}</span></div>'
        )
    parts += ["</div>", _bar(methods), _legend(), "</section>"]
    for blueprint in progress.blueprints:
        parts.append(_blueprint_html(blueprint))
    parts += [
        "<footer>Generated by routeshift status. Progress counts (route, method) pairs of the "
        "legacy app; HEAD, OPTIONS and static files are not counted.</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _bar(tally: Tally) -> str:
    counts = {
        "verified": tally.verified,
        "modern": tally.modern - tally.verified,
        "canary": tally.canary,
        "shadow": tally.shadow,
        "legacy": tally.legacy,
        "unregistered": tally.unregistered,
    }
    label = f"{tally.modern} of {tally.total} modern, {tally.verified} verified"
    segments = [
        f'<i class="{name}" style="width:{100 * counts[name] / tally.total:.3f}%" '
        f'title="{_esc(words)}: {counts[name]}"></i>'
        for name, words in _SEGMENTS
        if counts[name] and tally.total
    ]
    return f'<div class="bar" role="img" aria-label="{_esc(label)}">{"".join(segments)}</div>'


def _legend() -> str:
    items = "".join(f'<li><i class="{name}"></i>{_esc(words)}</li>' for name, words in _SEGMENTS)
    return f'<ul class="legend">{items}</ul>'


def _blueprint_html(blueprint: BlueprintProgress) -> str:
    m = blueprint.by_method
    figures = f"{m.modern} of {m.total} methods modern ({pct(m.modern_percent)})"
    if m.modern:
        figures += f", {m.verified} verified"
    if m.unregistered:
        figures += f", {m.unregistered} unregistered"
    rows = "\n".join(_route_html(route) for route in blueprint.routes)
    return (
        f'<section class="blueprint"><h2>{_esc(blueprint.label)} '
        f"<small>{_esc(figures)}</small></h2>{_bar(m)}"
        f"<table>{_COLUMNS}"
        f"<tbody>\n{rows}\n</tbody></table></section>"
    )


#: (heading, width in %, centred): the same widths in every blueprint's table
_COLUMN_SPEC = (
    ("Route", 17, False),
    ("Rule", 20, False),
    ("State", 16, False),
    ("Owner", 12, False),
    ("Handler", 7, True),
    ("Cases", 6, True),
    ("Verified", 7, True),
    ("Last run", 15, False),
)
_CENTRED = ' class="c"'
_COLUMNS = (
    "<colgroup>"
    + "".join(f'<col style="width:{width}%">' for _, width, _ in _COLUMN_SPEC)
    + "</colgroup><thead><tr>"
    + "".join(f"<th{_CENTRED if c else ''}>{title}</th>" for title, _, c in _COLUMN_SPEC)
    + "</tr></thead>"
)


def _route_html(route: RouteProgress) -> str:
    pills = "".join(
        f'<span class="pill {_state_class(m)}">{_esc(m.method)} {_esc(m.state)}</span>'
        for m in route.methods
    )
    word = verified_word(route)
    style = {"yes": "ok", "failed": "bad"}.get(word, "no")
    verified = _NONE if word == "-" else f'<span class="{style}">{word}</span>'
    cls = ' class="unregistered"' if route.state == UNREGISTERED else ""
    return (
        f"<tr{cls}><td><code>{_esc(route.endpoint)}</code></td>"
        f"<td><code>{_esc(route.rule)}</code></td><td>{pills}</td>"
        f"<td>{_esc(route.owner) if route.owner else _NONE}</td>"
        f'<td class="c">{_handler_html(route)}</td>'
        f'<td class="c">{_mark(route.has_cases)}</td><td class="c">{verified}</td>'
        f"<td>{_run_html(route.verification)}</td></tr>"
    )


def _run_html(run: Verification | None) -> str:
    if run is None:
        return _NONE
    when = f"{run.run_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return f"{run.passed}/{run.passed + run.failed} passed<small>{when}</small>"


def _handler_html(route: RouteProgress) -> str:
    word = handler_word(route)
    return _mark(word == "yes") if word in ("yes", "no") else f"<code>{_esc(word)}</code>"


def _state_class(method: MethodProgress) -> str:
    return "verified" if method.verified else method.state


_NONE = '<span class="no">&ndash;</span>'


def _mark(flag: bool) -> str:
    return '<span class="ok">&#10003;</span>' if flag else _NONE
