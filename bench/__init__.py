"""nwi at fleet scale: the benchmark of issue 7 (``python -m bench``; ``--smoke`` for a quick check)."""
