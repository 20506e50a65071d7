"""The training engine: a generator of events (see :mod:`core.training.loop`)."""
