"""Live diagnostics of representation health."""
