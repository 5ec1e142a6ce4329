"""Redis adapters, one module per capability; `client` holds the client and the pipelines they share."""
