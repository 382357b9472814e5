"""Rendering only: report.html with its figures, the exports (CSV, JSON, Markdown) and terminal tables.

Everything it shows is computed in ripsaw.analysis (load_runs -> summarize -> Summary); write.write_report puts
it on disk. Importing this package loads no plotting library: plots.py does, when a figure is drawn.
"""
