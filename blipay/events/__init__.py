"""The event backbone: modules publish with ``emit`` and react with registered handlers.

What modules use: ``registry.event`` (declare each event they publish: a frozen dataclass
beside its JSON Schema), ``outbox.emit`` / ``outbox.Outbound`` (inside their write
transaction), ``envelope.EventMeta`` and ``subscriptions.Subscription`` /
``subscriptions.register_handlers`` (declare what they consume; a handler gets the typed
payload and its ``EventMeta``).
Nothing is imported here, so the app package loads before Django's models are ready.
"""
