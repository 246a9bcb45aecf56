"""Audit features: history export, replay verdicts, the timeline and the auditors' command line."""
