"""Evaluations of a frozen representation."""
