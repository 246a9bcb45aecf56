"""Circuit-provisioning orders over HTTP: our routes and the TMF641 Service Ordering API."""
