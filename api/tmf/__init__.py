"""TMF Open API machinery shared by TMF621, TMF641 and TMF645: error bodies, routes, `fields=` projection."""
