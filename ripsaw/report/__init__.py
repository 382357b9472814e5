"""Rendering only: report.html with its figures, the exports (CSV, JSON, Markdown) and terminal tables.

Everything it shows is computed in ripsaw.analysis (load_runs -> summarize -> Summary); write.write_report puts
it on disk. report.html is a list of sections (html.page_sections), each a partial template: a new section (say,
agent runs) is one partial in templates/ plus one entry there. Its charts are plotly figures (charts.py) drawn by
the inlined plotly.js; the same figures' PNG/SVG exports come from matplotlib (plots.py, budget_section.py).
Importing this package loads no plotting library: plots.py and charts.py do, when a figure is drawn.
"""
