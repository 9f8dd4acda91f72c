"""The strangler proxy: routes each endpoint to the monolith or to an extracted service.

Not built yet; docs/architecture.md says what it will hold. Its place is reserved here so
the layout matches the design, and the import contracts already keep it off the modules.
"""
