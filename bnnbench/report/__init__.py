"""Reports: results.json rendered as Markdown (and, later, HTML with figures)."""
