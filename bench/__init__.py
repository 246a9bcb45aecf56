"""Benchmarks: kexiang's intake and decision path measured next to a bare Temporal baseline in the same run."""
