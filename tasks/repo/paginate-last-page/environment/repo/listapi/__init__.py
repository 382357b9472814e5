"""listapi: list endpoints with filtering, sorting and pagination."""
