"""The CDK stacks of Aperture: stateful resources, the service (functions and API), and the edge (CDN)."""
