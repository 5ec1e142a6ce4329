"""The search domain access custom resource's handler (handler.py); this directory is its Lambda asset."""
