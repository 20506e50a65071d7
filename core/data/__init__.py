"""Datasets: the Dataset type, built-in sources, splits and normalisation."""
