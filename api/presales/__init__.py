"""Pre-sales demands over HTTP."""
