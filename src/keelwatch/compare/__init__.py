"""Comparing images: `diff A B`, near-duplicate bases, and base-upgrade advice."""
