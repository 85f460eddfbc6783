"""What Journey Builder calls: config.json, JWTs, lifecycle, execute, the config UI and helpers."""
