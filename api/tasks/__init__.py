"""Human tasks over HTTP: inbox, claims and decisions."""
