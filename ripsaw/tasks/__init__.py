"""Task sources. `load_tasks(spec)` resolves a TasksSpec to a list of Task records."""
