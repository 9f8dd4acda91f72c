"""Blipay's business modules, one Django app each (members, merchants, wallet, payments,
notifications, promotions, and the member + balance read side). They talk through events
(blipay.events) and each other's ``public.py``; never through each other's models."""
