"""Service tickets over HTTP: our routes, the TMF621 API, the knowledge base and the customer survey."""
