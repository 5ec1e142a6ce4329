"""Aperture: the domain package every function imports (on Lambda it lives in /opt/python)."""
