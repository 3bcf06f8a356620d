"""ETL service: maps each day's documents to the tracked keywords and finds the keywords over their threshold."""
