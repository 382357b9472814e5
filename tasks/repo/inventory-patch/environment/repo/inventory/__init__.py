"""The inventory service's handlers (see README.md)."""
