"""Resource checks over HTTP: our routes and the TMF645 Service Qualification API."""
