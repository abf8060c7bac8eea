"""Benchmarks: each script prints a Markdown table (see the README)."""
