"""Times as the admin shows them: with their zone, since Blipay's staff and servers may not
share one (TIME_ZONE is Asia/Jakarta, WIB)."""

DATETIME_FORMAT = "j M Y, H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
