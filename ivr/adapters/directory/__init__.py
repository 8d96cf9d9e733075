"""The directory in Redis: accounts, engineers and cases, the document loader, staff sign-in accounts."""
