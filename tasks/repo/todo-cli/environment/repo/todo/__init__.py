"""todo: a to-do list for the terminal."""
