"""The runtime layer: the Celery app, the worker, the send and result paths; built on the contract core."""
