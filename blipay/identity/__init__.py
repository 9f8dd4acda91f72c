"""Who is calling: credentials (bearer secrets, stored hashed), the ``Principal`` a request
acts as, and the bearer authentication that turns one into the other. A platform package:
modules import it to issue credentials and to ask who the caller is; it imports no module.
The strangler's signed identity header (``internal.py``) will live here too."""
