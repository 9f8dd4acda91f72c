"""``make bench``: the event backbone (relay, consumers) measured against anchors in one run.

Run as ``python -m bench`` (see ``bench/README.md``). Nothing here is imported by Blipay or
its tests; the bench defines its own event type and works in its own database and queues.
"""
