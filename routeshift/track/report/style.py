"""The look the html pages share: one stylesheet, inlined in every page (no assets).

STATUS_CSS is the status page's; LIVE_CSS what the admin page adds (cards, small bars).
"""

from __future__ import annotations

__all__ = [
    "LIVE_CSS",
    "STATUS_CSS",
]

STATUS_CSS = """
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
.pill.ready{color:var(--verified);background:#fff;border:1px solid var(--verified)}
.no{color:var(--muted)}
.ok{color:var(--verified);font-weight:600}
.bad{color:var(--unregistered);font-weight:600}
tr.unregistered td{background:#fff5f5}
footer{margin-top:32px;color:var(--muted);font-size:12px}
section.history{margin-top:28px}
svg.burn{display:block;width:100%;height:220px;margin-top:10px;border:1px solid var(--line);
border-radius:8px;background:#fff}
svg.burn .grid line{stroke:#eaeef2;stroke-width:1}
svg.burn text{fill:var(--muted);font-size:12px}
svg.burn path{stroke:#fff;stroke-width:.5}
svg.burn path.modern{fill:var(--modern)}svg.burn path.canary{fill:var(--canary)}
svg.burn path.shadow{fill:var(--shadow)}svg.burn path.legacy{fill:var(--legacy)}
"""

LIVE_CSS = """
.live{display:inline-flex;align-items:center;gap:6px;font-size:12px;color:var(--verified);
font-weight:600;margin-left:10px;vertical-align:middle}
.live i{width:8px;height:8px;border-radius:50%;background:var(--verified);display:inline-block}
.states{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.states span{display:inline-flex;align-items:baseline;gap:6px;padding:3px 12px 3px 10px;
border-radius:14px;background:#fff;border:1px solid var(--line);font-size:13px;color:var(--muted)}
.states b{font-size:16px;color:var(--ink)}
.states i{width:10px;height:10px;border-radius:2px;display:inline-block}
.states span.alarm{border-color:var(--unregistered);background:#fff5f5}
.split{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eaeef2;
margin:5px 0 3px;max-width:180px}
.split i{display:block;height:100%}
.rate{font-size:16px;font-weight:700}
.rate.good{color:var(--verified)}.rate.warn{color:#9a6700}.rate.poor{color:var(--unregistered)}
.mismatch code{display:inline-block;background:#fff1e5;color:#953800;border-radius:4px;
padding:0 5px;margin:1px 3px 1px 0}
.mismatch .req{background:none;color:var(--ink);padding:0}
.lat{display:grid;grid-template-columns:1fr auto;gap:0 8px;font-size:12px;
color:var(--muted);max-width:180px}
.lat i{grid-column:1/-1;display:block;height:5px;border-radius:3px;min-width:2px;margin:1px 0 3px}
.lat b{color:var(--ink);font-weight:600;text-align:right}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px;
margin-top:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 16px;background:#fff;
border-top:4px solid var(--legacy)}
.card.shadow{border-top-color:var(--shadow)}.card.canary{border-top-color:var(--canary)}
.card h3{font-size:14px;margin:0;display:flex;justify-content:space-between;gap:8px;
align-items:baseline}
.card h3 .pill{margin:0 0 0 4px}
.card dl{display:grid;grid-template-columns:96px 1fr;gap:8px 10px;margin:12px 0 0}
.card dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em;
padding-top:2px}
.card dd{margin:0}
.card dd small{display:block;color:var(--muted);font-size:12px}
section.flight{margin-top:28px}
.empty{border:1px dashed var(--line);border-radius:8px;padding:18px;color:var(--muted);
text-align:center;margin-top:10px}
"""
