"""Temporal workflows: deterministic code only; every I/O goes through activities."""
