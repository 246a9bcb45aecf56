"""Auditors over HTTP: timeline, history export and replay, the journal, the payload codec."""
