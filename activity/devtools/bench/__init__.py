"""`python -m activity.devtools.bench` (`make bench`): the service's /execute against a baseline."""
