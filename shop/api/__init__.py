"""The shop's JSON API under /api/v1/ (docs/api.md): the same services and
selectors as the pages, as JSON with an OpenAPI reference."""
