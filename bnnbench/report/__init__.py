"""Reports: results.json as report.md, a self-contained index.html and figures/*.png.

- :mod:`~bnnbench.report.sections` says what the report shows, as format-neutral
  blocks (:mod:`~bnnbench.report.document`);
- :mod:`~bnnbench.report.markdown` and :mod:`~bnnbench.report.html` format the blocks;
- :mod:`~bnnbench.report.figures` draws the plots with matplotlib;
- :mod:`~bnnbench.report.writer` writes it all atomically (``bnnbench run`` and ``bnnbench report``);
- :mod:`~bnnbench.report.loading` reads results files, :mod:`~bnnbench.report.compare`
  compares two runs' timings (``bnnbench compare``).
"""
