"""The inline style sheet of the HTML reports: system fonts only, screen and print."""

CSS = """
:root{--go:#1b7f3b;--nogo:#b42318;--ink:#1d2733;--muted:#5b6675;--line:#d9dee5;
--bg:#f5f7fa;--card:#fff;--emit:#2f7d4f;--filter:#9aa5b1;--quar:#c2410c;--bar:#3b6ea8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:0 0 10px}
h3{font-size:15px;margin:18px 0 6px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
.meta,.intro,.none{color:var(--muted)}.none{font-style:italic}
code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
background:#eef1f5;padding:1px 4px;border-radius:3px;word-break:break-all}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:16px 20px;margin:16px 0}
.verdict{display:flex;gap:24px;align-items:center;border-width:2px}
.verdict.go{border-color:var(--go)}.verdict.nogo{border-color:var(--nogo)}
.badge{font-size:40px;font-weight:800;color:#fff;padding:14px 26px;border-radius:8px;
white-space:nowrap}
.go .badge{background:var(--go)}.nogo .badge{background:var(--nogo)}
.reasons{margin:0;padding-left:20px}.reasons li{margin:3px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:8px;
background:none;border:0;padding:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.card .n{font-size:22px;font-weight:700}
.card .l{color:var(--muted);font-size:12.5px;line-height:1.25}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:4px 0 8px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);background:#fafbfc}
table.num td{font-variant-numeric:tabular-nums}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700;
color:#fff}.pill.ok{background:var(--go)}.pill.bad{background:var(--nogo)}
.sev{font-size:12px;font-weight:700}.sev.critical{color:var(--nogo)}.sev.warning{color:#9a6700}
.err{color:var(--nogo)}.hidden{color:var(--muted);font-style:italic}
details summary{cursor:pointer;color:var(--muted);margin:6px 0}
svg.chart{max-width:100%;height:auto;display:block;margin:6px 0 10px}
svg .label,svg .value,svg .legend{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .value{fill:var(--muted)}
.s-emit{fill:var(--emit)}.s-filter{fill:var(--filter)}.s-quar{fill:var(--quar)}
.bar{fill:var(--bar)}
footer{color:var(--muted);font-size:13px;margin:20px 0}
@media print{
  body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
  section{border:0;border-top:1px solid #999;border-radius:0;padding:8px 0;margin:8px 0;
  break-inside:avoid-page}
  .verdict{border:2px solid #000}
  .cards{grid-template-columns:repeat(5,1fr)}.card{border:1px solid #999}
  table{page-break-inside:auto}tr{break-inside:avoid}
  details:not([open])>summary::after{content:" (open the file on screen to list them)"}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
