"""Worker for the diagnostic contracts."""
