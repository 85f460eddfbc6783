"""What operators and the platform see: health, metrics, structured logs, HTTP safety nets."""
