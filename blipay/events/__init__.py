"""The event backbone: modules publish with ``emit`` and react with registered handlers.

What modules use: ``registry.EventType`` / ``registry.register`` (declare what they
publish), ``outbox.emit`` (inside their write transaction), ``envelope.Envelope`` and
``consumers.Subscription`` / ``consumers.register_handlers`` (declare what they consume).
Nothing is imported here, so the app package loads before Django's models are ready.
"""
