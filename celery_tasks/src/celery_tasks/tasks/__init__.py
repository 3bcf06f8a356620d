"""The contract stubs, one module per implementing service."""
