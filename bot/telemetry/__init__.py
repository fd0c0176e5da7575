"""What the running bot tells its operators: Prometheus metrics, the interaction log line, Discord's HTTP errors."""
