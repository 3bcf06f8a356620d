"""The crawler service: fetches pages, feeds and JSON APIs safely and stores them as documents."""
