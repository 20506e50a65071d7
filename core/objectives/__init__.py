"""Objectives: the learning pressures. Importing this package registers the built-in ones."""
from core.objectives import autoencoder, supervised  # noqa: F401  (registration)
