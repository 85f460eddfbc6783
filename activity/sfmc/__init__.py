"""Marketing Cloud: OAuth, connections, the data-extension installer, the sync worker."""
