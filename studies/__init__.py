"""Studies that measure the method on real data: `python -m studies.search` (the search of the
defaults, run where there is a GPU) and the real-data chapter's papermill run."""
