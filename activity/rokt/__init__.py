"""The Rokt Calendar API: requests, client, token cache, retries, the delivery worker."""
