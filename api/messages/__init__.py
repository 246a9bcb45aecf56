"""Customer message threads over HTTP."""
