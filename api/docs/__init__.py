"""API documentation served from files that ship with the project (Swagger UI, ReDoc): no CDN, works offline."""
