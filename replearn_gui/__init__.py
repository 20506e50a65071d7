"""RepLearn Studio's Qt application. Talks to ``core`` through its public API only, and imports it lazily."""
