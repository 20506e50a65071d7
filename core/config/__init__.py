"""Experiment configuration: typed parameters, the experiment schema, TOML files and migrations."""
