"""The alert service: draws a keyword's daily counts and threshold, and mails the chart once per keyword and day."""
