"""Development tools for the workspace: the pytest plugin, one fake news site, one process runner (never shipped)."""
