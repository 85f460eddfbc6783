"""Marketing Cloud: OAuth client, connections, data-extension installer, sync worker."""
