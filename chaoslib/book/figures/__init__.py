"""Figures as functions of labelled results: ``figure = f(dataset)``, one module per chapter.

Each function takes the ``xarray.Dataset`` (or records) that a chapter computes and saves, and
returns a matplotlib figure; it never computes anything expensive. Redraw any figure from a
result file: ``figures.trajectories.unit_trajectories(chaoslib.store.load_dataset(path))``.
"""
