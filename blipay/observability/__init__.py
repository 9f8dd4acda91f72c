"""What operators see of a running Blipay: Prometheus metrics (``metrics``), structured
logs (``logs``) and OpenTelemetry traces (``tracing``), plus the middleware that measures
every HTTP request. docs/operations.md lists the metrics and how each process exports them."""
